import ArgumentParser
import Foundation
import TrailCore
import TrailService

struct RunsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs", abstract: "Create runs and log to them.",
        subcommands: [
            Create.self, Get.self, Search.self, End.self, Delete.self, Restore.self, LogParam.self, LogMetric.self, LogBatch.self,
            SetTag.self, DeleteTag.self, TagHistory.self, MetricHistory.self, LogArtifact.self, LogInput.self,
        ])

    static func show(_ run: Run, json: Bool) {
        json ? Output.printJSON(NativeAPI.RunBody(run: run)) : Output.run(run)
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start a run (status RUNNING).")
        @OptionGroup var options: GlobalOptions
        @Option(name: [.short, .long], help: "Experiment id or name (default: the Default experiment).") var experiment: String?
        @Option(help: "Run name (generated when absent).") var name: String?
        @Option(name: .customLong("tag"), help: "A tag as KEY=VALUE (repeatable).") var tags: [String] = []

        func run() async throws {
            try await runReporting(options) {
                let backend = try await options.backend()
                var experimentID: ExperimentID?
                if let experiment { experimentID = try await backend.experiment(experiment).id }
                let run = try await backend.createRun(NativeAPI.CreateRun(experimentID: experimentID, runName: name, tags: try parseTags(tags)))
                RunsCommand.show(run, json: options.json)
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a run with its params, latest metrics, tags and inputs.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Run id.") var runID: String

        func run() async throws {
            try await runReporting(options) { RunsCommand.show(try await options.backend().run(try RunID(parsing: runID)), json: options.json) }
        }
    }

    struct Search: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Search runs with MLflow's filter grammar.",
            discussion: "Example: trail runs search -e demo --filter \"metrics.acc > 0.9 and params.C = '1.0'\" --order-by \"metrics.acc DESC\"")
        @OptionGroup var options: GlobalOptions
        @Option(name: [.short, .long], help: "Experiment id or name (repeatable; default: the Default experiment).") var experiment: [String] = []
        @Option(help: "Filter, e.g. \"metrics.acc > 0.9 and tags.team = 'risk'\".") var filter: String = ""
        @Option(name: .customLong("order-by"), help: "Ordering, e.g. \"metrics.acc DESC\" (repeatable).") var orderBy: [String] = []
        @Option(help: "Page size.") var maxResults: Int = 100
        @Option(help: "Token of the page to fetch.") var pageToken: String?
        @Option(help: "active, deleted or all.") var view: String = "active"

        func run() async throws {
            try await runReporting(options) {
                let backend = try await options.backend()
                var ids: [ExperimentID] = []
                for reference in experiment { ids.append(try await backend.experiment(reference).id) }
                if ids.isEmpty { ids = [.defaultExperiment] }
                let viewType: ViewType = view == "all" ? .all : view == "deleted" ? .deletedOnly : .activeOnly
                let page = try await backend.searchRuns(
                    NativeAPI.SearchRuns(
                        experimentIDs: ids, filter: filter, orderBy: orderBy, maxResults: maxResults, pageToken: pageToken, runViewType: viewType))
                if options.json { return Output.printJSON(NativeAPI.RunList(runs: page.items, nextPageToken: page.nextPageToken)) }
                Output.table(
                    ["RUN ID", "NAME", "STATUS", "STARTED", "METRICS"],
                    page.items.map { run in
                        [
                            run.info.runID.value, run.info.name, run.info.status.rawValue, Output.date(run.info.startTimeMillis),
                            run.metrics.prefix(4).map { "\($0.key)=\(Output.number($0.value))" }.joined(separator: " "),
                        ]
                    })
                if let next = page.nextPageToken { print("more: --page-token \(next)") }
            }
        }
    }

    struct End: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "End a run with a status (default FINISHED).")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Run id.") var runID: String
        @Option(help: "FINISHED, FAILED or KILLED.") var status: String = "FINISHED"

        func run() async throws {
            try await runReporting(options) {
                guard let runStatus = RunStatus(rawValue: status.uppercased()) else {
                    throw TrailError.invalid("status", "status must be one of \(RunStatus.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                let backend = try await options.backend()
                let id = try RunID(parsing: runID)
                _ = try await backend.updateRun(id, NativeAPI.UpdateRun(status: runStatus))
                RunsCommand.show(try await backend.run(id), json: options.json)
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Soft-delete a run (recorded; restore undoes it).")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Run id.") var runID: String

        func run() async throws {
            try await runReporting(options) {
                let backend = try await options.backend()
                let id = try RunID(parsing: runID)
                try await backend.deleteRun(id)
                RunsCommand.show(try await backend.run(id), json: options.json)
            }
        }
    }

    struct Restore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Restore a deleted run.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Run id.") var runID: String

        func run() async throws {
            try await runReporting(options) {
                let backend = try await options.backend()
                let id = try RunID(parsing: runID)
                try await backend.restoreRun(id)
                RunsCommand.show(try await backend.run(id), json: options.json)
            }
        }
    }

    struct LogParam: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "log-param", abstract: "Log an immutable parameter.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Run id.") var runID: String
        @Argument var key: String
        @Argument var value: String

        func run() async throws {
            try await runReporting(options) {
                try await options.backend().logBatch(try RunID(parsing: runID), NativeAPI.LogBatch(params: [Param(key: key, value: value)]))
                options.json ? Output.printJSON(Param(key: key, value: value)) : print("logged param \(key)=\(value)")
            }
        }
    }

    struct LogMetric: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "log-metric", abstract: "Log one metric point.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Run id.") var runID: String
        @Argument var key: String
        @Argument(help: "A number, or NaN, Infinity, -Infinity.") var value: String
        @Option var step: Int64 = 0
        @Option(help: "Milliseconds since the epoch (default: now).") var timestamp: Int64?

        func run() async throws {
            try await runReporting(options) {
                guard let number = FlexibleDouble.parse(value) else {
                    throw TrailError.invalid("value", "metric value must be a number or one of NaN, Infinity, -Infinity, got '\(value)'")
                }
                let metric = Metric(
                    key: key, value: number, timestampMillis: timestamp ?? SystemClock().nowMillis(), step: step)
                try await options.backend().logBatch(try RunID(parsing: runID), NativeAPI.LogBatch(metrics: [metric]))
                options.json ? Output.printJSON(metric) : print("logged metric \(key)=\(value) step \(step)")
            }
        }
    }

    struct LogBatch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "log-batch", abstract: "Log metrics, params and tags from a JSON file ({metrics, params, tags}); '-' reads stdin.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Run id.") var runID: String
        @Argument(help: "JSON file, or - for standard input.") var file: String

        func run() async throws {
            try await runReporting(options) {
                let data = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: file))
                let batch: NativeAPI.LogBatch
                do {
                    batch = try JSONDecoder().decode(NativeAPI.LogBatch.self, from: data)
                } catch let error as TrailError {
                    throw error
                } catch {
                    throw TrailError(.malformedRequest, "the batch file is not a JSON object {metrics, params, tags}", field: "file")
                }
                try await options.backend().logBatch(try RunID(parsing: runID), batch)
                let counts = ["metrics": batch.metrics?.count ?? 0, "params": batch.params?.count ?? 0, "tags": batch.tags?.count ?? 0]
                options.json
                    ? Output.printJSON(counts) : print("logged \(counts["metrics"]!) metrics, \(counts["params"]!) params, \(counts["tags"]!) tags")
            }
        }
    }

    struct SetTag: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set-tag", abstract: "Set a run tag (the previous value stays in the history).")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Run id.") var runID: String
        @Argument var key: String
        @Argument var value: String

        func run() async throws {
            try await runReporting(options) {
                try await options.backend().setTag(try RunID(parsing: runID), key: key, value: value)
                options.json ? Output.printJSON(Tag(key: key, value: value)) : print("set tag \(key)=\(value)")
            }
        }
    }

    struct DeleteTag: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "delete-tag", abstract: "Delete a run tag (recorded in the history).")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Run id.") var runID: String
        @Argument var key: String

        func run() async throws {
            try await runReporting(options) {
                try await options.backend().setTag(try RunID(parsing: runID), key: key, value: nil)
                options.json ? Output.printJSON(["deleted": key]) : print("deleted tag \(key)")
            }
        }
    }

    struct TagHistory: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "tag-history", abstract: "Every change to a run's tags, oldest first.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Run id.") var runID: String

        func run() async throws {
            try await runReporting(options) {
                let changes = try await options.backend().tagHistory(try RunID(parsing: runID))
                if options.json { return Output.printJSON(NativeAPI.TagHistory(changes: changes)) }
                Output.table(
                    ["TIME", "ACTOR", "KEY", "VALUE"],
                    changes.map { [Output.date($0.timeMillis), $0.actor.description, $0.key, $0.value ?? "(deleted)"] })
            }
        }
    }

    struct MetricHistory: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "metric-history", abstract: "Every point of one metric.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Run id.") var runID: String
        @Argument var key: String

        func run() async throws {
            try await runReporting(options) {
                let points = try await options.backend().metricHistory(try RunID(parsing: runID), key: key)
                if options.json { return Output.printJSON(NativeAPI.MetricHistory(metrics: points, nextPageToken: nil)) }
                Output.table(
                    ["STEP", "TIMESTAMP", "VALUE"], points.map { [String($0.step), String($0.timestampMillis), Output.number($0.value)] })
            }
        }
    }

    struct LogArtifact: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "log-artifact", abstract: "Upload a file (or every file in a folder) as run artifacts, streamed and content-addressed.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Run id.") var runID: String
        @Argument(help: "File or folder to upload.") var file: String
        @Option(help: "Logical path in the run (default: the file name; for a folder, the folder's name).") var path: String?

        func run() async throws {
            try await runReporting(options) {
                let backend = try await options.backend()
                let id = try RunID(parsing: runID)
                let source = URL(fileURLWithPath: file)
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: source.path, isDirectory: &isDirectory) else {
                    throw TrailError.invalid("file", "no such file: \(file)")
                }
                var uploads: [(URL, String)] = []
                let base = path ?? source.lastPathComponent
                if isDirectory.boolValue {
                    let enumerator = FileManager.default.enumerator(at: source, includingPropertiesForKeys: [.isRegularFileKey])
                    while let item = enumerator?.nextObject() as? URL {
                        guard (try? item.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true else { continue }
                        let relative = String(item.standardizedFileURL.path.dropFirst(source.standardizedFileURL.path.count + 1))
                        uploads.append((item, base + "/" + relative))
                    }
                    uploads.sort { $0.1 < $1.1 }
                } else {
                    uploads = [(source, base)]
                }
                var entries: [ArtifactEntry] = []
                for (url, logical) in uploads {
                    let artifactPath = try ArtifactPath(validating: logical)
                    let size = (try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.int64Value ?? 0
                    let progress = Progress(total: size, label: "upload \(logical)", json: options.json)
                    entries.append(try await backend.uploadArtifact(id, path: artifactPath, file: url, progress: progress))
                }
                if options.json { return Output.printJSON(NativeAPI.ArtifactList(artifacts: entries)) }
                for entry in entries { print("stored \(entry.path) (\(entry.sizeBytes) bytes) \(entry.digest)") }
            }
        }
    }

    struct LogInput: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "log-input", abstract: "Record a CSV data set the run used: sha256 of its bytes, schema and shape.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Run id.") var runID: String
        @Argument(help: "CSV file.") var file: String
        @Option(help: "Dataset name (default: the file name).") var name: String?
        @Option(help: "training, evaluation, …") var context: String = "training"

        func run() async throws {
            try await runReporting(options) {
                let url = URL(fileURLWithPath: file)
                guard let data = FileManager.default.contents(atPath: url.path) else { throw TrailError.invalid("file", "cannot read \(file)") }
                let input = try CSVDatasetProfiler.describe(
                    bytes: Array(data), name: name ?? url.lastPathComponent, source: url.standardizedFileURL.path, context: context)
                try await options.backend().logInputs(try RunID(parsing: runID), [input])
                if options.json { return Output.printJSON(input) }
                print("logged dataset \(input.name) \(input.digest) (\(input.profile!.rows) rows × \(input.profile!.columns) columns, \(context))")
            }
        }
    }
}
