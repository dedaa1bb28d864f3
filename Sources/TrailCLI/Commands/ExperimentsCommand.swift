import ArgumentParser
import Foundation
import TrailCore

struct ExperimentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiments", abstract: "Create, list and manage experiments.",
        subcommands: [Create.self, List.self, Get.self, Delete.self, Restore.self, Rename.self, SetTag.self])

    static func show(_ experiment: Experiment, json: Bool) {
        if json { return Output.printJSON(NativeAPI.ExperimentBody(experiment: experiment)) }
        print("experiment \(experiment.id)  \(experiment.name)  (\(experiment.lifecycleStage.rawValue))")
        print("  artifacts  \(experiment.artifactLocation)")
        print("  created    \(Output.date(experiment.creationTimeMillis))")
        for tag in experiment.tags { print("  tag        \(tag.key)=\(tag.value)") }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an experiment.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Unique experiment name.") var name: String
        @Option(name: .customLong("tag"), help: "A tag as KEY=VALUE (repeatable).") var tags: [String] = []

        func run() async throws {
            try await runReporting(options) {
                let experiment = try await options.backend().createExperiment(name: name, tags: try parseTags(tags))
                ExperimentsCommand.show(experiment, json: options.json)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List experiments.")
        @OptionGroup var options: GlobalOptions
        @Option(help: "active, deleted or all.") var view: String = "active"

        func run() async throws {
            try await runReporting(options) {
                let viewType: ViewType =
                    switch view {
                    case "all": .all
                    case "deleted": .deletedOnly
                    case "active": .activeOnly
                    default: throw TrailError.invalid("view", "view must be active, deleted or all")
                    }
                let experiments = try await options.backend().experiments(view: viewType)
                if options.json { return Output.printJSON(NativeAPI.ExperimentList(experiments: experiments, nextPageToken: nil)) }
                Output.table(
                    ["ID", "NAME", "STAGE", "CREATED"],
                    experiments.map { [$0.id.description, $0.name, $0.lifecycleStage.rawValue, Output.date($0.creationTimeMillis)] })
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show an experiment by id or name.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Experiment id or name.") var experiment: String

        func run() async throws {
            try await runReporting(options) {
                ExperimentsCommand.show(try await options.backend().experiment(experiment), json: options.json)
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Soft-delete an experiment (recorded; restore undoes it).")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Experiment id or name.") var experiment: String

        func run() async throws {
            try await runReporting(options) {
                let backend = try await options.backend()
                let found = try await backend.experiment(experiment)
                try await backend.deleteExperiment(found.id)
                ExperimentsCommand.show(try await backend.experiment(found.id.description), json: options.json)
            }
        }
    }

    struct Restore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Restore a deleted experiment.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Experiment id.") var experimentID: String

        func run() async throws {
            try await runReporting(options) {
                let backend = try await options.backend()
                let id = try ExperimentID(parsing: experimentID)
                try await backend.restoreExperiment(id)
                ExperimentsCommand.show(try await backend.experiment(id.description), json: options.json)
            }
        }
    }

    struct Rename: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Rename an experiment.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Experiment id or name.") var experiment: String
        @Argument(help: "New unique name.") var newName: String

        func run() async throws {
            try await runReporting(options) {
                let backend = try await options.backend()
                let found = try await backend.experiment(experiment)
                try await backend.renameExperiment(found.id, to: newName)
                ExperimentsCommand.show(try await backend.experiment(found.id.description), json: options.json)
            }
        }
    }

    struct SetTag: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set-tag", abstract: "Set a tag on an experiment.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Experiment id or name.") var experiment: String
        @Argument var key: String
        @Argument var value: String

        func run() async throws {
            try await runReporting(options) {
                let backend = try await options.backend()
                let found = try await backend.experiment(experiment)
                try await backend.setExperimentTag(found.id, key: key, value: value)
                ExperimentsCommand.show(try await backend.experiment(found.id.description), json: options.json)
            }
        }
    }
}

func parseTags(_ items: [String]) throws -> [Tag] {
    try items.map { item in
        guard let equals = item.firstIndex(of: "=") else { throw TrailError.invalid("tag", "tag '\(item)' must be KEY=VALUE") }
        return Tag(key: String(item[..<equals]), value: String(item[item.index(after: equals)...]))
    }
}
