import ArgumentParser
import Foundation
import TrailCore
import TrailService

struct ModelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models", abstract: "The model registry: versions with digest manifests, aliases, stages and their full history.",
        subcommands: [
            Create.self, List.self, Get.self, Register.self, Alias.self, Stage.self, History.self, At.self, Policy.self, Check.self, Approvals.self,
            Attestations.self,
        ])

    /// The home folder, or the server with `--server` (acting as the token's user).
    static func client(_ options: GlobalOptions) async throws -> any TrailBackend { try await options.backend() }

    static func show(_ version: ModelVersion, json: Bool) {
        if json { return Output.printJSON(version) }
        print("\(version.name) version \(version.version)  stage \(version.stage.rawValue)  \(version.status)")
        if !version.aliases.isEmpty { print("  aliases   " + version.aliases.map { "@\($0)" }.joined(separator: " ")) }
        print("  run       \(version.runID?.value ?? "-")")
        print("  source    \(version.source)")
        print("  root      \(version.manifest.root)")
        for file in version.manifest.files { print("  file      \(file.path)  \(file.sizeBytes) bytes  \(file.digest)") }
        print("  created   \(Output.date(version.creationTimeMillis)) by \(version.createdBy)")
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a registered model.")
        @OptionGroup var options: GlobalOptions
        @Argument var name: String
        @Option var description: String = ""

        func run() async throws {
            try await runReporting(options) {
                let model = try await ModelsCommand.client(options).createModel(name: name, description: description)
                options.json ? Output.printJSON(model) : print("created model \(model.name)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List registered models.")
        @OptionGroup var options: GlobalOptions

        func run() async throws {
            try await runReporting(options) {
                let models = try await ModelsCommand.client(options).models()
                if options.json { return Output.printJSON(models) }
                Output.table(
                    ["NAME", "ALIASES", "UPDATED"],
                    models.map { m in
                        [
                            m.name, m.aliases.sorted { $0.key < $1.key }.map { "@\($0.key)→\($0.value)" }.joined(separator: " "),
                            Output.date(m.lastUpdatedMillis),
                        ]
                    })
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a model's versions, or one version (NAME VERSION or NAME@alias).")
        @OptionGroup var options: GlobalOptions
        @Argument var name: String
        @Argument var version: Int64?

        func run() async throws {
            try await runReporting(options) {
                let registry = try await ModelsCommand.client(options)
                let parts = name.split(separator: "@", maxSplits: 1).map(String.init)
                if parts.count == 2 {
                    guard let number = try await registry.model(parts[0]).aliases[parts[1]] else {
                        throw TrailError.notFound("alias", name, field: "alias")
                    }
                    return ModelsCommand.show(try await registry.version(parts[0], number), json: options.json)
                }
                if let version { return ModelsCommand.show(try await registry.version(name, version), json: options.json) }
                let versions = try await registry.versions(name)
                if options.json { return Output.printJSON(versions) }
                Output.table(
                    ["VERSION", "STAGE", "ALIASES", "RUN", "ROOT DIGEST"],
                    versions.map {
                        [
                            String($0.version), $0.stage.rawValue, $0.aliases.map { "@\($0)" }.joined(separator: " "), $0.runID?.value ?? "-",
                            $0.manifest.root.description,
                        ]
                    })
            }
        }
    }

    struct Register: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a run's artifact folder as a new model version (digest manifest of its files).")
        @OptionGroup var options: GlobalOptions
        @Argument var name: String
        @Option(help: "Source run id.") var run: String
        @Option(help: "Artifact folder in the run holding the model files.") var path: String = "model"
        @Option var description: String = ""

        func run() async throws {
            try await runReporting(options) {
                let version = try await ModelsCommand.client(options).registerVersion(
                    name: name, runID: try RunID(parsing: run), path: path, description: description)
                ModelsCommand.show(version, json: options.json)
            }
        }
    }

    struct Alias: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Point NAME@ALIAS at a version (or remove it with --delete; a protected alias only with --emergency); recorded with its reason.")
        @OptionGroup var options: GlobalOptions
        @Argument var name: String
        @Argument var alias: String
        @Argument var version: Int64?
        @Flag var delete = false
        @Option var reason: String = ""
        @Flag(help: "Bypass the promotion gate (admins; needs --reason). Recorded as alias.emergency with the unmet requirements.")
        var emergency = false

        func run() async throws {
            try await runReporting(options) {
                guard delete || version != nil else { throw TrailError.invalid("version", "give a version, or --delete") }
                // With --emergency: moving or removing a protected alias without the gate (removal needs this path).
                try await ModelsCommand.client(options).setAlias(
                    name: name, alias: alias, version: delete ? nil : version, reason: reason, emergency: emergency)
                options.json
                    ? Output.printJSON(["name": name, "alias": alias, "version": delete ? "" : String(version!)])
                    : print(delete ? "removed \(name)@\(alias)" : "\(name)@\(alias) → version \(version!)")
            }
        }
    }

    struct Stage: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move a version to None, Staging, Production or Archived; recorded with its reason.")
        @OptionGroup var options: GlobalOptions
        @Argument var name: String
        @Argument var version: Int64
        @Argument var stage: String
        @Flag(help: "Archive the stage's other versions in the same change.") var archiveExisting = false
        @Option var reason: String = ""

        func run() async throws {
            try await runReporting(options) {
                let moved = try await ModelsCommand.client(options).transitionStage(
                    name: name, version: version, stage: try ModelStage(parsing: stage), archiveExisting: archiveExisting, reason: reason)
                ModelsCommand.show(moved, json: options.json)
            }
        }
    }

    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every alias and stage change of a model: who, when, from → to, why, ledger index.")
        @OptionGroup var options: GlobalOptions
        @Argument var name: String

        func run() async throws {
            try await runReporting(options) {
                let changes = try await ModelsCommand.client(options).history(name)
                if options.json { return Output.printJSON(changes) }
                Output.table(
                    ["TIME", "ACTOR", "CHANGE", "FROM", "TO", "REASON", "EVENT"],
                    changes.map { c in
                        [
                            Output.date(c.timeMillis), c.actor.description, c.kind == .alias ? "@\(c.key)" : "version \(c.key) stage", c.from ?? "-",
                            c.to ?? "-", c.reason, "#\(c.eventIndex)",
                        ]
                    })
            }
        }
    }

    struct At: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "What NAME@ALIAS (or NAME@Production) was at a past time.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "NAME@alias or NAME@Stage.") var reference: String
        @Option(help: "ISO 8601 time (2026-03-01T12:00:00Z) or milliseconds since the epoch.") var time: String

        func run() async throws {
            try await runReporting(options) {
                let parts = reference.split(separator: "@", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { throw TrailError.invalid("reference", "use NAME@alias or NAME@Stage") }
                let millis: Int64
                if let number = Int64(time) {
                    millis = number
                } else if let date = ISO8601DateFormatter().date(from: time) {
                    millis = Int64(date.timeIntervalSince1970 * 1000)
                } else {
                    throw TrailError.invalid("time", "time must be ISO 8601 (2026-03-01T12:00:00Z) or milliseconds since the epoch")
                }
                let (versions, change) = try await ModelsCommand.client(options).resolve(name: parts[0], reference: parts[1], atMillis: millis)
                if options.json {
                    return Output.printJSON(
                        JSONValue.object([
                            "reference": .string(reference), "time": .int(millis), "versions": .array(versions.map(JSONValue.int)),
                            "set_by_event": change.map { JSONValue.int($0.eventIndex) } ?? .null,
                        ]))
                }
                guard !versions.isEmpty else { return print("\(reference) pointed at nothing at \(Output.date(millis))") }
                print("\(reference) at \(Output.date(millis)): version \(versions.map(String.init).joined(separator: ", "))")
                if let change {
                    print(
                        "  since \(Output.date(change.timeMillis)) by \(change.actor), ledger event #\(change.eventIndex)\(change.reason.isEmpty ? "" : ": \(change.reason)")"
                    )
                }
            }
        }
    }

    struct Policy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set (with --file) or show the promotion policy of a target (@alias or a stage); each change is a new, recorded version.")
        @OptionGroup var options: GlobalOptions
        @Argument var name: String
        @Option(help: "@alias or a stage, e.g. @production or Production.") var to: String
        @Option(help: "Policy JSON file (see docs/promotion.md).") var file: String?
        @Option(help: "A built-in policy instead of --file: provenance-standard (every mandatory field of the provenance standard, and security_decision PASS).")
        var template: String?

        func run() async throws {
            try await runReporting(options) {
                let registry = try await ModelsCommand.client(options)
                if file != nil, template != nil { throw TrailError.invalid("template", "give --file or --template, not both") }
                var document: [UInt8]?
                if let file {
                    guard let data = FileManager.default.contents(atPath: file) else { throw TrailError.invalid("file", "cannot read \(file)") }
                    document = Array(data)
                } else if let template {
                    guard let text = ProvenanceStandard.templates[template] else {
                        throw TrailError.invalid("template", "unknown template '\(template)'; built in: \(ProvenanceStandard.templates.keys.sorted().joined(separator: ", "))")
                    }
                    document = Array(text.utf8)
                }
                if let document {
                    let version = try await registry.setPolicy(name: name, target: to, document: document)
                    return options.json
                        ? Output.printJSON(["name": name, "target": to, "policy_version": String(version)])
                        : print("policy v\(version) for \(name) → \(to)")
                }
                guard let (version, policy) = try await registry.policy(name: name, target: to) else {
                    return options.json ? Output.printJSON(JSONValue.null) : print("no policy: \(to) is unprotected")
                }
                if options.json { return Output.printJSON(policy) }
                print("policy v\(version) for \(name) → \(to)")
                Output.printJSON(policy)
            }
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Dry run of the gate: every requirement ✓/✗ with its evidence.")
        @OptionGroup var options: GlobalOptions
        @Argument var name: String
        @Argument var version: Int64
        @Option(help: "@alias or a stage.") var to: String

        func run() async throws {
            try await runReporting(options) {
                let report = try await ModelsCommand.client(options).evaluate(name: name, version: version, target: to)
                if options.json { return Output.printJSON(report) }
                print("\(name) version \(version) → \(report.target)  (policy \(report.policyVersion.map { "v\($0)" } ?? "none: unprotected"))")
                for requirement in report.requirements {
                    print("  \(requirement.met ? "✓" : "✗") \(requirement.requirement): \(requirement.evidence)")
                }
                print(report.granted ? "GRANTED" : "REFUSED: \(report.unmet.count) unmet")
                if !report.granted { throw ExitCode(1) }
            }
        }
    }

    struct Approvals: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Approvals and rejections of a version.")
        @OptionGroup var options: GlobalOptions
        @Argument var name: String
        @Argument var version: Int64

        func run() async throws {
            try await runReporting(options) {
                let approvals = try await ModelsCommand.client(options).approvals(name: name, version: version)
                if options.json { return Output.printJSON(approvals) }
                Output.table(
                    ["TIME", "APPROVER", "DECISION", "TARGET", "ROOT DIGEST", "COMMENT", "EVENT"],
                    approvals.map {
                        [Output.date($0.timeMillis), $0.approver, $0.decision, $0.target, $0.rootDigest.description, $0.comment, "#\($0.eventIndex)"]
                    })
            }
        }
    }
}

extension ModelsCommand {
    struct Attestations: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a version's verified attestations.")
        @OptionGroup var options: GlobalOptions
        @Argument var name: String
        @Argument var version: Int64

        func run() async throws {
            try await runReporting(options) {
                let attestations = try await ModelsCommand.client(options).attestations(name: name, version: version)
                if options.json { return Output.printJSON(attestations) }
                Output.table(
                    ["TIME", "PREDICATE TYPE", "SUBJECT", "ENVELOPE", "SIGNED BY", "SUBMITTED BY", "EVENT"],
                    attestations.map {
                        [
                            Output.date($0.timeMillis), $0.predicateType, $0.subjectDigest.description, $0.envelopeDigest.description,
                            $0.keyIDs.map { String($0.prefix(16)) }.joined(separator: ","), $0.submittedBy, "#\($0.eventIndex)",
                        ]
                    })
            }
        }
    }
}

/// `trail approve` and `trail reject`: an approver's decision on a version for a target,
/// bound to the version's root digest. The local CLI acts as the OS user, remotely the token's
/// user; either must be an enabled user with the approver role, and the service decides.
struct ApproveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "approve", abstract: "Approve a model version for a target.")
    @OptionGroup var decision: DecisionOptions
    func run() async throws { try await decision.record(approve: true) }
}

struct RejectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "reject", abstract: "Reject a model version for a target.")
    @OptionGroup var decision: DecisionOptions
    func run() async throws { try await decision.record(approve: false) }
}

struct DecisionOptions: ParsableArguments {
    @OptionGroup var options: GlobalOptions
    @Argument var name: String
    @Argument var version: Int64
    @Option(help: "@alias or a stage.") var to: String
    @Option var comment: String = ""
    @Option(help: "The root digest you reviewed (sha256:…); refused if it is not the version's.") var digest: String?

    func record(approve: Bool) async throws {
        try await runReporting(options) {
            let approval = try await ModelsCommand.client(options).approve(
                name: name, version: version, target: to, decision: approve ? .approve : .reject, comment: comment,
                reviewedDigest: try digest.map { try Digest(parsing: $0) })
            options.json
                ? Output.printJSON(approval)
                : print("\(approval.decision)d \(name) version \(version) for \(approval.target) (event #\(approval.eventIndex))")
        }
    }
}
