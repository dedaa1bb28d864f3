import ArgumentParser
import Foundation
import TrailCore
import TrailService

/// Identities: on the home folder (whoever can read it is already its administrator), or on a
/// server by an admin's token.
func identityClient(_ options: GlobalOptions) async throws -> any TrailBackend { try await options.backend() }

func parseRoles(_ items: [String]) throws -> Set<Role> {
    Set(
        try items.flatMap { $0.split(separator: ",") }.map { item in
            guard let role = Role(rawValue: item.trimmingCharacters(in: .whitespaces).lowercased()) else {
                throw TrailError.invalid("role", "role must be viewer, auditor, contributor, approver or admin; got '\(item)'")
            }
            return role
        })
}

struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users", abstract: "Users and their roles (viewer, auditor, contributor, approver, admin).",
        subcommands: [Create.self, List.self, Roles.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a user.")
        @OptionGroup var options: GlobalOptions
        @Argument var name: String
        @Option(name: .customLong("role"), help: "viewer, auditor, contributor, approver or admin (repeatable).") var roles: [String] = ["viewer"]

        func run() async throws {
            try await runReporting(options) {
                let user = try await identityClient(options).createUser(name: name, roles: try parseRoles(roles))
                options.json
                    ? Output.printJSON(user)
                    : print("created user \(user.name) with roles \(user.roles.sorted().map(\.rawValue).joined(separator: ", "))")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users.")
        @OptionGroup var options: GlobalOptions

        func run() async throws {
            try await runReporting(options) {
                let users = try await identityClient(options).users()
                if options.json { return Output.printJSON(users) }
                Output.table(
                    ["NAME", "ROLES", "DISABLED"],
                    users.map { [$0.name, $0.roles.sorted().map(\.rawValue).joined(separator: ","), $0.disabled ? "yes" : ""] })
            }
        }
    }

    struct Roles: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Replace a user's roles.")
        @OptionGroup var options: GlobalOptions
        @Argument var name: String
        @Option(name: .customLong("role")) var roles: [String]

        func run() async throws {
            try await runReporting(options) {
                let user = try await identityClient(options).setRoles(name: name, roles: try parseRoles(roles))
                options.json ? Output.printJSON(user) : print("\(user.name): \(user.roles.sorted().map(\.rawValue).joined(separator: ", "))")
            }
        }
    }
}

struct TokensCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokens", abstract: "API tokens: shown once at creation, stored only as a digest, revocable.",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a token for a user and print it (once).")
        @OptionGroup var options: GlobalOptions
        @Argument var user: String
        @Option(help: "Expire after this many days.") var expiresDays: Int64?

        func run() async throws {
            try await runReporting(options) {
                let (secret, token) = try await identityClient(options).createToken(
                    user: user,
                    expiresInSeconds: try expiresDays.map { days in
                        guard (1...IdentityService.maxTokenDays).contains(days) else {
                            throw TrailError.invalid("expires-days", "expires-days must be 1 to \(IdentityService.maxTokenDays) (100 years)")
                        }
                        return days * 86400
                    })
                if options.json { return Output.printJSON(["token": secret, "token_id": token.id, "user": user]) }
                print(secret)
                FileHandle.standardError.write(
                    Data("token \(token.id) for \(user): shown once; use it as TRAIL_TOKEN or MLFLOW_TRACKING_TOKEN\n".utf8))
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens (ids and state, never secrets).")
        @OptionGroup var options: GlobalOptions
        @Option var user: String?

        func run() async throws {
            try await runReporting(options) {
                let tokens = try await identityClient(options).tokens(user: user)
                if options.json { return Output.printJSON(tokens) }
                Output.table(
                    ["ID", "USER", "CREATED", "EXPIRES", "REVOKED"],
                    tokens.map {
                        [$0.id, $0.userName, Output.date($0.creationTimeMillis), Output.date($0.expiresMillis), Output.date($0.revokedMillis)]
                    })
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token.")
        @OptionGroup var options: GlobalOptions
        @Argument var id: String

        func run() async throws {
            try await runReporting(options) {
                try await identityClient(options).revokeToken(id: id)
                options.json ? Output.printJSON(["revoked": id]) : print("revoked \(id)")
            }
        }
    }
}
