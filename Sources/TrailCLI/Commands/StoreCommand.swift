import ArgumentParser
import Foundation
import TrailCore
import TrailService

/// `trail store grant ROLE`: the database role a serving `trail server` connects as.
struct StoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Manage the PostgreSQL metadata store.",
        subcommands: [Grant.self])

    struct Grant: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Grant a database role what a serving 'trail server' needs, and no UPDATE, DELETE or TRUNCATE on any fact table.",
            discussion: """
                Run as the tables' owner (the role that migrated the database), then start the servers as ROLE: \
                facts get SELECT and INSERT only, entity and projection tables SELECT, INSERT, UPDATE and DELETE (their \
                every state is also a fact that 'ledger verify' checks). ROLE must exist (CREATE ROLE … LOGIN PASSWORD …). \
                Recorded as a 'store.grant' event.
                """)

        @OptionGroup var options: GlobalOptions

        @Argument(help: "The role the servers connect as.")
        var role: String

        func run() async throws {
            try await runReporting(options) {
                if options.serverURL != nil {
                    throw TrailError.invalid("server", "grants are made on the database, as its owner, not through a server")
                }
                let home = try await options.openHome()
                let granted = try await home.grantServingRole(role, actor: GlobalOptions.osUser)
                if options.json {
                    Output.printJSON(GrantOutput(role: role, insertOnly: granted.facts, readWrite: granted.others))
                } else {
                    print("\(role): SELECT, INSERT on \(granted.facts.count) fact tables (no UPDATE, DELETE, TRUNCATE); SELECT, INSERT, UPDATE, DELETE on \(granted.others.count) entity and projection tables")
                }
            }
        }

        struct GrantOutput: Encodable {
            var role: String
            var insertOnly: [String]
            var readWrite: [String]
            enum CodingKeys: String, CodingKey {
                case role
                case insertOnly = "insert_only"
                case readWrite = "read_write"
            }
        }
    }
}
