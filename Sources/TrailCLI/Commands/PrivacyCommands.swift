import ArgumentParser
import Foundation
import TrailCore
import TrailService

/// `trail erase`: a data-subject request. Destroys the keys of a prediction's raw input or of a
/// run's sensitive values; the records, their digests and the ledger stay verifiable.
struct EraseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "erase",
        abstract: "Erase a prediction's raw input, or sensitive param/tag values of a run (recorded, with the reason).",
        discussion: """
            Values are erased by destroying the key that sealed them: every read then shows [erased], \
            the rows and the ledger are untouched, and `trail ledger verify` still passes and counts them. \
            Refused under a legal hold, and for values logged in clear (keys not declared with --sensitive-keys \
            when they were logged): those are in ledger events, which cannot forget them.
            """)

    @OptionGroup var options: GlobalOptions
    @Option(help: "A prediction id: erase its raw input.") var prediction: String?
    @Option(help: "A run id: erase the values of --keys.") var run: String?
    @Option(help: "Param or tag keys of --run, comma-separated.") var keys: String?
    @Option(help: "Why (the request's reference); recorded.") var reason: String

    func run() async throws {
        try await runReporting(options) {
            let client = try await options.backend()
            let erasure: DataProtectionService.Erasure
            switch (prediction, run) {
            case (let prediction?, nil):
                guard keys == nil else { throw TrailError.invalid("keys", "--keys goes with --run, not with --prediction") }
                erasure = try await client.erase(predictionID: prediction, reason: reason)
            case (nil, let run?):
                let list = (keys ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                erasure = try await client.erase(runID: try RunID(parsing: run, field: "run"), keys: list, reason: reason)
            default:
                throw TrailError.invalid("prediction", "name either --prediction ID, or --run ID with --keys k1,k2")
            }
            if options.json { return Output.printJSON(erasure) }
            print("erased \(erasure.subject): \(erasure.keysDestroyed) key\(erasure.keysDestroyed == 1 ? "" : "s") destroyed"
                + (erasure.eventIndex.map { ", ledger event \($0)" } ?? ""))
            for digest in erasure.digests { print("  \(digest)") }
        }
    }
}

/// `trail hold`: legal holds, which block erasure and retention of what they cover.
struct HoldCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hold", abstract: "Legal holds: while one is active, nothing it covers is erased or removed by retention.",
        subcommands: [Place.self, Release.self, List.self], defaultSubcommand: List.self)

    struct Place: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Place a hold on a model, a run or a dataset digest (recorded).")
        @OptionGroup var options: GlobalOptions
        @Option(help: "A registered model: its predictions and its versions' source runs.") var model: String?
        @Option(help: "A run id.") var run: String?
        @Option(help: "A dataset digest (sha256:…): every run that read it.") var dataset: String?
        @Option(help: "Why (a case or matter reference); recorded.") var reason: String

        func run() async throws {
            try await runReporting(options) {
                let subjects = [(LegalHold.SubjectType.model, model), (.run, run), (.dataset, dataset)].compactMap { type, value in value.map { (type, $0) } }
                guard subjects.count == 1, let (type, subject) = subjects.first else {
                    throw TrailError.invalid("model", "name exactly one of --model, --run, --dataset")
                }
                let hold = try await options.backend().placeHold(type, subject: subject, reason: reason)
                options.json ? Output.printJSON(hold) : print("placed \(hold.holdID) on \(type.rawValue) \(subject) (ledger event \(hold.eventIndex))")
            }
        }
    }

    struct Release: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Release a hold (recorded).")
        @OptionGroup var options: GlobalOptions
        @Argument var holdID: String
        @Option(help: "Why; recorded.") var reason: String

        func run() async throws {
            try await runReporting(options) {
                let hold = try await options.backend().releaseHold(id: holdID, reason: reason)
                options.json ? Output.printJSON(hold) : print("released \(hold.holdID) (ledger event \(hold.eventIndex))")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List holds, active and released.")
        @OptionGroup var options: GlobalOptions

        func run() async throws {
            try await runReporting(options) {
                let holds = try await options.backend().holds()
                if options.json { return Output.printJSON(holds) }
                if holds.isEmpty { return print("no legal holds (place one: trail hold place --model NAME --reason \"…\")") }
                Output.table(
                    ["ID", "ON", "SUBJECT", "BY", "PLACED", "RELEASED", "REASON"],
                    holds.map {
                        [
                            $0.holdID, $0.subjectType.rawValue, $0.subjectID, $0.actor, Output.date($0.creationTimeMillis), Output.date($0.releasedTimeMillis),
                            String($0.reason.prefix(60)),
                        ]
                    })
            }
        }
    }
}

/// `trail retention`: how long each kind (raw inputs, prediction records, served-input
/// histograms, deleted runs' files) is kept, and applying it.
struct RetentionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention", abstract: "Retention windows per kind, and applying them (each application recorded).",
        subcommands: [Show.self, Set.self, Apply.self], defaultSubcommand: Show.self)

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The retention settings in force.")
        @OptionGroup var options: GlobalOptions

        func run() async throws {
            try await runReporting(options) {
                let settings = try await options.backend().retentionSettings()
                if options.json { return Output.printJSON(settings) }
                if settings.isEmpty { return print("nothing is removed by retention (set one: trail retention set raw_inputs --days 30)") }
                Output.table(
                    ["KIND", "DAYS", "SET BY", "SINCE", "EVENT"],
                    settings.map { [$0.kind.rawValue, String($0.days), $0.actor, Output.date($0.timeMillis), String($0.eventIndex)] })
            }
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set how many days a kind is kept (recorded).")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "raw_inputs, prediction_records, served_histograms or deleted_run_artifacts") var kind: String
        @Option(help: "Days to keep (1–36500).") var days: Int64

        func run() async throws {
            try await runReporting(options) {
                guard let parsed = RetentionKind(rawValue: kind) else {
                    throw TrailError.invalid("kind", "kind must be one of \(RetentionKind.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                let setting = try await options.backend().setRetention(parsed, days: days)
                options.json ? Output.printJSON(setting) : print("\(setting.kind.rawValue): kept \(setting.days) days (ledger event \(setting.eventIndex))")
            }
        }
    }

    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove what is older than its window, except under a legal hold (recorded).")
        @OptionGroup var options: GlobalOptions
        @Flag(help: "Count what would be removed; remove and record nothing.") var dryRun = false

        func run() async throws {
            try await runReporting(options) {
                let result = try await options.backend().applyRetention(dryRun: dryRun)
                if options.json { return Output.printJSON(result) }
                if result.applied.isEmpty { return print("no retention settings: nothing to apply") }
                for applied in result.applied {
                    print(
                        "\(applied.kind.rawValue) (\(applied.days) days, before \(Output.date(applied.cutoffMillis))): "
                            + "\(applied.removed) \(Self.unit(applied.kind)) \(dryRun ? "would be removed" : "removed")"
                            + (applied.eventIndexes.isEmpty ? "" : ", ledger events \(applied.eventIndexes.map(String.init).joined(separator: ", "))")
                            + (applied.held.isEmpty ? "" : "; kept under hold: \(applied.held.joined(separator: ", "))"))
                }
            }
        }

        static func unit(_ kind: RetentionKind) -> String {
            switch kind {
            case .rawInputs: "raw inputs"
            case .predictionRecords: "prediction records"
            case .servedHistograms: "group commits' histograms"
            case .deletedRunArtifacts: "blobs"
            }
        }
    }
}
