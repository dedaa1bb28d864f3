
/// The store's schema, as numbered migrations (written in SQLite's dialect, which the PostgreSQL
/// engine translates). A migration is never edited once it has shipped:
/// change the schema by adding the next one. Migrations use SQL only, never app types.
enum StoreSchema {
    /// Every migration, in order: its identifier and its SQL (SQLite's dialect; the PostgreSQL
    /// engine translates it). Each runs once, in a transaction of its own.
    static let migrations: [(id: String, sql: String)] = [
        ("001_tracking_and_ledger", v001),
        ("002_merkle_checkpoints_state_history", v002),
        ("003_model_registry", v003),
        ("004_identities", v004),
        ("005_policies_approvals", v005),
        ("006_trusted_keys_attestations", v006),
        ("007_deployments_predictions", v007),
        ("008_logged_models_registry_tags", v008),
        ("009_checkpoint_records", v009),
        ("010_checkpoint_cosignatures", v010),
        ("011_prediction_outputs", v011),
        ("012_data_protection", v012),
        ("013_retirement", v013),
        ("014_outbox_webhooks", v014),
        ("015_openlineage", v015),
    ]

    /// Tables whose rows are facts: inserted once, never updated or deleted.
    static let appendOnlyTables = [
        "ledger_events", "params", "metrics", "run_tag_history", "experiment_tag_history", "dataset_inputs", "artifacts",
    ]
    // v002 adds merkle_nodes, checkpoints and state_history to the append-only tables.

    /// The columns each recorded table contributes to its event's write digest, in order.
    /// `event_index` is not among them: it is the grouping key.
    static let recordedColumns: [(table: String, columns: [String])] = [
        ("params", ["run_pk", "key", "value"]),
        ("metrics", ["run_pk", "key", "value", "is_nan", "timestamp", "step"]),
        ("run_tag_history", ["seq", "run_pk", "key", "value", "time", "actor"]),
        ("experiment_tag_history", ["seq", "experiment_id", "key", "value", "time", "actor"]),
        ("dataset_inputs", ["seq", "run_pk", "name", "digest", "source_type", "source", "schema_json", "profile_json", "context"]),
        ("artifacts", ["run_pk", "path", "digest", "size_bytes", "created_time"]),
        ("state_history", ["seq", "entity", "entity_key", "row"]),
        ("registry_history", ["seq", "name", "kind", "key", "from_value", "to_value", "reason", "time", "actor"]),
        ("policies", ["seq", "name", "target", "version", "document", "time", "actor"]),
        ("approvals", ["seq", "name", "version", "target", "approver", "root_digest", "decision", "comment", "time"]),
        (
            "deployments",
            ["seq", "deployment_id", "model_name", "reference", "model_version", "config_digest", "binary_digest", "host", "action", "time"]
        ),
        (
            "predictions",
            [
                "seq", "prediction_id", "time", "deployment_id", "model_name", "model_version", "input_digest", "probability", "prediction",
                "latency_us", "outcome", "error", "raw_input", "position",
            ]
        ),
        ("logged_model_params", ["model_pk", "key", "value"]),
        ("seal_key_shreds", ["pk", "key_id", "kind", "scope", "created_time", "shredded_time"]),
        ("retired_writes", ["pk", "table_name", "written_event", "row_count", "digest", "retired_time"]),
        ("retired_blobs", ["pk", "digest", "retired_time"]),
        (
            "openlineage_events",
            [
                "seq", "kind", "event_type", "event_time", "run_uuid", "job_namespace", "job_name", "parent_run_uuid", "producer", "git_commit",
                "source_location", "processing_type", "description", "body_digest", "body_bytes", "received_time",
            ]
        ),
        ("openlineage_datasets", ["seq", "event_seq", "role", "namespace", "name", "version", "schema_json", "dataset_type"]),
        ("logged_model_tag_history", ["seq", "model_pk", "key", "value", "time", "actor"]),
        (
            "logged_model_metrics",
            ["seq", "model_pk", "run_id", "key", "value", "is_nan", "timestamp", "step", "dataset_name", "dataset_digest"]
        ),
        ("logged_model_artifacts", ["model_pk", "path", "digest", "size_bytes", "created_time"]),
        ("run_model_links", ["seq", "run_pk", "model_id", "direction", "step"]),
        ("registry_tag_history", ["seq", "name", "version", "key", "value", "time", "actor"]),
        ("served_feature_counts", ["seq", "deployment_id", "model_name", "model_version", "time", "counts_json"]),
        ("prediction_outputs", ["seq", "prediction_id", "output"]),
        ("trusted_keys", ["seq", "keyid", "name", "public_key", "predicate_types", "revoked", "actor", "time"]),
        (
            "attestations",
            [
                "seq", "name", "version", "predicate_type", "envelope_digest", "payload_digest", "subject_digest", "keyids", "submitted_by",
                "time",
            ]
        ),
    ]

    /// The state columns of entity tables, recorded (as canonical JSON arrays) in
    /// `state_history` after every change.
    static let stateColumns: [String: (key: String, columns: [String])] = [
        "experiments": ("id", ["id", "name", "lifecycle_stage", "creation_time", "last_update_time"]),
        "runs": ("pk", ["pk", "run_id", "experiment_id", "name", "user_id", "status", "start_time", "end_time", "lifecycle_stage"]),
        "users": ("pk", ["pk", "name", "roles", "disabled", "creation_time"]),
        "tokens": ("pk", ["pk", "token_id", "user_name", "secret_digest", "creation_time", "expires", "revoked"]),
        "logged_models": (
            "pk",
            [
                "pk", "model_id", "experiment_id", "name", "model_type", "source_run_id", "status", "status_message", "lifecycle_stage",
                "creation_time", "last_update_time",
            ]
        ),
        "registered_models": ("pk", ["pk", "name", "description", "creation_time", "last_update_time"]),
        "legal_holds": ("pk", ["pk", "hold_id", "subject_type", "subject_id", "reason", "actor", "created_time", "released_time", "release_reason"]),
        "retention_settings": ("pk", ["pk", "kind", "days", "time", "actor"]),
        "webhook_endpoints": ("pk", ["pk", "webhook_id", "url", "events", "description", "created_by", "creation_time", "removed_time"]),
        "webhook_allowances": ("pk", ["pk", "cidr", "reason", "actor", "time", "removed_time"]),

        "model_versions": (
            "pk",
            [
                "pk", "name", "version", "run_id", "source", "root_digest", "manifest_json", "stage", "description", "created_by", "creation_time",
                "last_update_time",
            ]
        ),
    ]

    static let v008 = """
        -- MLflow 3 logged models: entity rows whose every state is in state_history.
        CREATE TABLE logged_models (
            pk INTEGER PRIMARY KEY,
            model_id TEXT NOT NULL UNIQUE,
            experiment_id INTEGER NOT NULL,
            name TEXT NOT NULL,
            model_type TEXT NOT NULL,
            source_run_id TEXT,
            status TEXT NOT NULL,
            status_message TEXT NOT NULL,
            lifecycle_stage TEXT NOT NULL,
            creation_time INTEGER NOT NULL,
            last_update_time INTEGER NOT NULL,
            event_index INTEGER NOT NULL
        );
        CREATE INDEX logged_models_experiment ON logged_models(experiment_id, creation_time DESC);
        CREATE INDEX logged_models_run ON logged_models(source_run_id);
        CREATE TABLE logged_model_params (
            seq INTEGER PRIMARY KEY,
            model_pk INTEGER NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            event_index INTEGER NOT NULL,
            UNIQUE (model_pk, key)
        );
        CREATE INDEX logged_model_params_event ON logged_model_params(event_index);
        -- Tags of logged models: every change kept; the current value is the last change per key.
        CREATE TABLE logged_model_tag_history (
            seq INTEGER PRIMARY KEY,
            model_pk INTEGER NOT NULL,
            key TEXT NOT NULL,
            value TEXT,
            time INTEGER NOT NULL,
            actor TEXT NOT NULL,
            event_index INTEGER NOT NULL
        );
        CREATE INDEX logged_model_tag_history_key ON logged_model_tag_history(model_pk, key, seq);
        CREATE INDEX logged_model_tag_history_event ON logged_model_tag_history(event_index);
        CREATE TABLE logged_model_metrics (
            seq INTEGER PRIMARY KEY,
            model_pk INTEGER NOT NULL,
            run_id TEXT,
            key TEXT NOT NULL,
            value REAL,
            is_nan INTEGER NOT NULL,
            timestamp INTEGER NOT NULL,
            step INTEGER NOT NULL,
            dataset_name TEXT,
            dataset_digest TEXT,
            event_index INTEGER NOT NULL
        );
        CREATE INDEX logged_model_metrics_key ON logged_model_metrics(model_pk, key, timestamp, step);
        CREATE INDEX logged_model_metrics_event ON logged_model_metrics(event_index);
        -- A logged model's files: logical path to digest, like a run's.
        CREATE TABLE logged_model_artifacts (
            model_pk INTEGER NOT NULL,
            path TEXT NOT NULL,
            digest TEXT NOT NULL,
            size_bytes INTEGER NOT NULL,
            created_time INTEGER NOT NULL,
            event_index INTEGER NOT NULL,
            PRIMARY KEY (model_pk, path)
        ) WITHOUT ROWID;
        CREATE INDEX logged_model_artifacts_digest ON logged_model_artifacts(digest);
        CREATE INDEX logged_model_artifacts_event ON logged_model_artifacts(event_index);
        -- Models a run consumed (input) or produced (output).
        CREATE TABLE run_model_links (
            seq INTEGER PRIMARY KEY,
            run_pk INTEGER NOT NULL,
            model_id TEXT NOT NULL,
            direction TEXT NOT NULL,
            step INTEGER NOT NULL,
            event_index INTEGER NOT NULL,
            UNIQUE (run_pk, model_id, direction, step)
        );
        CREATE INDEX run_model_links_event ON run_model_links(event_index);
        -- Tags of registered models (version 0) and model versions: every change kept.
        CREATE TABLE registry_tag_history (
            seq INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            version INTEGER NOT NULL,
            key TEXT NOT NULL,
            value TEXT,
            time INTEGER NOT NULL,
            actor TEXT NOT NULL,
            event_index INTEGER NOT NULL
        );
        CREATE INDEX registry_tag_history_key ON registry_tag_history(name, version, key, seq);
        CREATE INDEX registry_tag_history_event ON registry_tag_history(event_index);
        """
        + appendOnlyTriggers([
            "logged_model_params", "logged_model_tag_history", "logged_model_metrics", "logged_model_artifacts", "run_model_links",
            "registry_tag_history",
        ])

    static let v007 = """
        -- Every start, version switch and stop of a serving deployment.
        CREATE TABLE deployments (
            seq INTEGER PRIMARY KEY,
            deployment_id TEXT NOT NULL,
            model_name TEXT NOT NULL,
            reference TEXT NOT NULL,
            model_version INTEGER NOT NULL,
            config_digest TEXT NOT NULL,
            binary_digest TEXT NOT NULL,
            host TEXT NOT NULL,
            action TEXT NOT NULL,
            time INTEGER NOT NULL,
            event_index INTEGER NOT NULL
        );
        CREATE INDEX deployments_id ON deployments(deployment_id, seq);
        CREATE INDEX deployments_model ON deployments(model_name, model_version);
        CREATE INDEX deployments_event ON deployments(event_index);
        -- Served predictions and refused requests, one group commit (event) at a time.
        CREATE TABLE predictions (
            seq INTEGER PRIMARY KEY,
            prediction_id TEXT NOT NULL UNIQUE,
            time INTEGER NOT NULL,
            deployment_id TEXT NOT NULL,
            model_name TEXT NOT NULL,
            model_version INTEGER NOT NULL,
            input_digest TEXT NOT NULL,
            probability REAL,
            prediction INTEGER,
            latency_us INTEGER NOT NULL,
            outcome TEXT NOT NULL,
            error TEXT,
            raw_input TEXT,
            position INTEGER NOT NULL,
            event_index INTEGER NOT NULL
        );
        CREATE INDEX predictions_event ON predictions(event_index, position);
        CREATE INDEX predictions_deployment ON predictions(deployment_id, time);
        -- Per group commit: histogram counts of the served inputs per feature (drift).
        CREATE TABLE served_feature_counts (
            seq INTEGER PRIMARY KEY,
            deployment_id TEXT NOT NULL,
            model_name TEXT NOT NULL,
            model_version INTEGER NOT NULL,
            time INTEGER NOT NULL,
            counts_json TEXT NOT NULL,
            event_index INTEGER NOT NULL
        );
        CREATE INDEX served_counts_model ON served_feature_counts(model_name, model_version, time);
        CREATE INDEX served_counts_event ON served_feature_counts(event_index);
        """ + appendOnlyTriggers(["deployments", "predictions", "served_feature_counts"])

    static let v006 = """
        -- Every grant and withdrawal of trust in a signing key; the latest row per keyid is in force.
        CREATE TABLE trusted_keys (
            seq INTEGER PRIMARY KEY,
            keyid TEXT NOT NULL,
            name TEXT NOT NULL,
            public_key TEXT NOT NULL,
            predicate_types TEXT NOT NULL,
            revoked INTEGER NOT NULL,
            actor TEXT NOT NULL,
            time INTEGER NOT NULL,
            event_index INTEGER NOT NULL
        );
        CREATE INDEX trusted_keys_keyid ON trusted_keys(keyid, seq);
        CREATE INDEX trusted_keys_event ON trusted_keys(event_index);
        -- Verified attestations; the envelope bytes are a blob (envelope_digest).
        CREATE TABLE attestations (
            seq INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            version INTEGER NOT NULL,
            predicate_type TEXT NOT NULL,
            envelope_digest TEXT NOT NULL,
            payload_digest TEXT NOT NULL,
            subject_digest TEXT NOT NULL,
            keyids TEXT NOT NULL,
            submitted_by TEXT NOT NULL,
            time INTEGER NOT NULL,
            event_index INTEGER NOT NULL
        );
        CREATE INDEX attestations_version ON attestations(name, version, seq);
        CREATE INDEX attestations_event ON attestations(event_index);
        """ + appendOnlyTriggers(["trusted_keys", "attestations"])

    static let v005 = """
        -- Every version of every promotion policy; the latest per (name, target) is in force.
        CREATE TABLE policies (
            seq INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            target TEXT NOT NULL,
            version INTEGER NOT NULL,
            document TEXT NOT NULL,
            time INTEGER NOT NULL,
            actor TEXT NOT NULL,
            event_index INTEGER NOT NULL,
            UNIQUE (name, target, version)
        );
        CREATE INDEX policies_event ON policies(event_index);
        CREATE TABLE approvals (
            seq INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            version INTEGER NOT NULL,
            target TEXT NOT NULL,
            approver TEXT NOT NULL,
            root_digest TEXT NOT NULL,
            decision TEXT NOT NULL,
            comment TEXT NOT NULL,
            time INTEGER NOT NULL,
            event_index INTEGER NOT NULL
        );
        CREATE INDEX approvals_version ON approvals(name, version, target, seq);
        CREATE INDEX approvals_event ON approvals(event_index);
        """ + appendOnlyTriggers(["policies", "approvals"])

    static let v004 = """
        CREATE TABLE users (
            pk INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            roles TEXT NOT NULL,
            disabled INTEGER NOT NULL,
            creation_time INTEGER NOT NULL,
            event_index INTEGER NOT NULL
        );
        -- Tokens are stored as the sha256 of their secret; the secret is shown once, never kept.
        CREATE TABLE tokens (
            pk INTEGER PRIMARY KEY,
            token_id TEXT NOT NULL UNIQUE,
            user_name TEXT NOT NULL REFERENCES users(name),
            secret_digest TEXT NOT NULL,
            creation_time INTEGER NOT NULL,
            expires INTEGER,
            revoked INTEGER,
            event_index INTEGER NOT NULL
        );
        """

    static let v003 = """
        CREATE TABLE registered_models (
            pk INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            description TEXT NOT NULL,
            creation_time INTEGER NOT NULL,
            last_update_time INTEGER NOT NULL,
            event_index INTEGER NOT NULL
        );
        CREATE TABLE model_versions (
            pk INTEGER PRIMARY KEY,
            name TEXT NOT NULL REFERENCES registered_models(name),
            version INTEGER NOT NULL,
            run_id TEXT,
            source TEXT NOT NULL,
            root_digest TEXT NOT NULL,
            manifest_json TEXT NOT NULL,
            stage TEXT NOT NULL,
            description TEXT NOT NULL,
            created_by TEXT NOT NULL,
            creation_time INTEGER NOT NULL,
            last_update_time INTEGER NOT NULL,
            event_index INTEGER NOT NULL,
            UNIQUE (name, version)
        );
        -- Every alias move and stage change, forever: the answer to "what was in production when".
        CREATE TABLE registry_history (
            seq INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            kind TEXT NOT NULL,
            key TEXT NOT NULL,
            from_value TEXT,
            to_value TEXT,
            reason TEXT NOT NULL,
            time INTEGER NOT NULL,
            actor TEXT NOT NULL,
            event_index INTEGER NOT NULL
        );
        CREATE INDEX registry_history_name ON registry_history(name, kind, key, seq);
        CREATE INDEX registry_history_event ON registry_history(event_index);
        -- Projection of registry_history: where each alias points now.
        CREATE TABLE model_aliases (
            name TEXT NOT NULL,
            alias TEXT NOT NULL,
            version INTEGER NOT NULL,
            PRIMARY KEY (name, alias)
        ) WITHOUT ROWID;
        """ + appendOnlyTriggers(["registry_history"])

    static let v002 = """
        CREATE TABLE merkle_nodes (
            level INTEGER NOT NULL,
            idx INTEGER NOT NULL,
            hash BLOB NOT NULL,
            PRIMARY KEY (level, idx)
        ) WITHOUT ROWID;
        CREATE TABLE checkpoints (
            size INTEGER PRIMARY KEY,
            root BLOB NOT NULL,
            time INTEGER NOT NULL,
            note TEXT NOT NULL
        );
        -- Every state an experiment or run has had, as the canonical JSON array of its state columns.
        CREATE TABLE state_history (
            seq INTEGER PRIMARY KEY,
            entity TEXT NOT NULL,
            entity_key INTEGER NOT NULL,
            row TEXT NOT NULL,
            event_index INTEGER NOT NULL
        );
        CREATE INDEX state_history_entity ON state_history(entity, entity_key, seq);
        CREATE INDEX state_history_event ON state_history(event_index);
        CREATE INDEX params_event ON params(event_index);
        CREATE INDEX metrics_event ON metrics(event_index);
        CREATE INDEX run_tag_history_event ON run_tag_history(event_index);
        CREATE INDEX experiment_tag_history_event ON experiment_tag_history(event_index);
        CREATE INDEX dataset_inputs_event ON dataset_inputs(event_index);
        CREATE INDEX artifacts_event ON artifacts(event_index);
        """ + appendOnlyTriggers(["merkle_nodes", "checkpoints", "state_history"])

    /// A signed record of each checkpoint row (its size, stored time, note digest and the
    /// previous record's digest), so that changing a checkpoint's time or deleting one that a
    /// later one follows is found by `ledger verify`. Checkpoints stored before this migration
    /// (size ≤ `since`) have none.
    static let v009 = """
        CREATE TABLE checkpoint_records (
            size INTEGER PRIMARY KEY,
            record TEXT NOT NULL
        );
        CREATE TABLE checkpoint_records_since (
            since INTEGER NOT NULL
        );
        INSERT INTO checkpoint_records_since (since) SELECT COALESCE(MAX(size), -1) FROM checkpoints;
        """ + appendOnlyTriggers(["checkpoint_records", "checkpoint_records_since"])

    /// Witnesses' cosignatures (C2SP `cosignature/v1` lines) of stored checkpoints, by the
    /// witness's verifier key. Each line verifies on its own against the checkpoint's text.
    static let v010 = """
        CREATE TABLE checkpoint_cosignatures (
            seq INTEGER PRIMARY KEY,
            size INTEGER NOT NULL,
            witness TEXT NOT NULL,
            line TEXT NOT NULL,
            time INTEGER NOT NULL,
            UNIQUE (size, witness)
        );
        CREATE INDEX checkpoint_cosignatures_witness ON checkpoint_cosignatures(witness, size);
        """ + appendOnlyTriggers(["checkpoint_cosignatures"])

    /// What an MLflow model answered for each served row (its element of `predictions`, as
    /// canonical JSON). A table of its own, so that the rows and write digests of earlier
    /// predictions stay as they were.
    static let v011 = """
        CREATE TABLE prediction_outputs (
            seq INTEGER PRIMARY KEY,
            prediction_id TEXT NOT NULL UNIQUE,
            output TEXT NOT NULL,
            event_index INTEGER NOT NULL
        );
        CREATE INDEX prediction_outputs_event ON prediction_outputs(event_index);
        """ + appendOnlyTriggers(["prediction_outputs"])

    /// Data protection (issue #18). `seal_keys` holds the AES-GCM keys that seal raw prediction
    /// inputs and the values of sensitive params and tags: the sealed bytes stay in their
    /// append-only rows (so every write digest still checks), and erasing a value destroys its
    /// key. Keys are key material, never facts: their table is outside the record, and what
    /// happens to them is (`seal_key_shreds`, an append-only row per destroyed key, covered by
    /// the write digest of the event that destroyed it). Legal holds and retention settings are entities whose every
    /// state is in `state_history`.
    static let v012 = """
        CREATE TABLE seal_keys (
            key_id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            scope TEXT NOT NULL,
            key_bytes BLOB,
            created_time INTEGER NOT NULL
        );
        CREATE INDEX seal_keys_kind_time ON seal_keys(kind, created_time);
        CREATE TABLE seal_key_shreds (
            pk INTEGER PRIMARY KEY,
            key_id TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            scope TEXT NOT NULL,
            created_time INTEGER NOT NULL,
            shredded_time INTEGER NOT NULL,
            event_index INTEGER NOT NULL
        );
        CREATE INDEX seal_key_shreds_kind ON seal_key_shreds(kind);
        CREATE INDEX seal_key_shreds_event ON seal_key_shreds(event_index);
        CREATE TABLE legal_holds (
            pk INTEGER PRIMARY KEY,
            hold_id TEXT NOT NULL UNIQUE,
            subject_type TEXT NOT NULL,
            subject_id TEXT NOT NULL,
            reason TEXT NOT NULL,
            actor TEXT NOT NULL,
            created_time INTEGER NOT NULL,
            released_time INTEGER,
            release_reason TEXT,
            event_index INTEGER NOT NULL
        );
        CREATE TABLE retention_settings (
            pk INTEGER PRIMARY KEY,
            kind TEXT NOT NULL UNIQUE,
            days INTEGER NOT NULL,
            time INTEGER NOT NULL,
            actor TEXT NOT NULL,
            event_index INTEGER NOT NULL
        );
        """ + appendOnlyTriggers(["seal_key_shreds"])

    /// Retention (issue #18). `retired_writes` records, per (table, event), the rows retention
    /// removed: the event keeps their digest and count, so verification accepts their absence
    /// by this record. `retired_blobs` records each blob removed from the artifact store.
    /// Both are append-only and covered by the retention event's write digest. The append-only
    /// triggers of the retirable tables are replaced by ones that allow exactly the deletes of
    /// rows whose event was retired (PostgreSQL: `trail_retirable()`).
    static let v013 = """
        CREATE TABLE retired_writes (
            pk INTEGER PRIMARY KEY,
            table_name TEXT NOT NULL,
            written_event INTEGER NOT NULL,
            row_count INTEGER NOT NULL,
            digest TEXT NOT NULL,
            retired_time INTEGER NOT NULL,
            event_index INTEGER NOT NULL,
            UNIQUE (table_name, written_event)
        );
        CREATE INDEX retired_writes_event ON retired_writes(event_index);
        CREATE TABLE retired_blobs (
            pk INTEGER PRIMARY KEY,
            digest TEXT NOT NULL,
            retired_time INTEGER NOT NULL,
            event_index INTEGER NOT NULL
        );
        CREATE INDEX retired_blobs_digest ON retired_blobs(digest, event_index);
        CREATE INDEX retired_blobs_event ON retired_blobs(event_index);
        """ + appendOnlyTriggers(["retired_writes", "retired_blobs"])
        + retirableTriggers(["predictions", "prediction_outputs", "served_feature_counts"])

    /// OpenLineage events accepted at `POST /api/v1/lineage` (issue #19): one row per event (its
    /// original bytes are a blob, `body_digest`) and one per dataset it names. Both append-only
    /// and covered by the ingest event's write digest; runs and jobs are derived from them.
    static let v015 = """
        CREATE TABLE openlineage_events (
            seq INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            event_type TEXT,
            event_time INTEGER NOT NULL,
            run_uuid TEXT,
            job_namespace TEXT,
            job_name TEXT,
            parent_run_uuid TEXT,
            producer TEXT NOT NULL,
            git_commit TEXT,
            source_location TEXT,
            processing_type TEXT,
            description TEXT,
            body_digest TEXT NOT NULL,
            body_bytes INTEGER NOT NULL,
            received_time INTEGER NOT NULL,
            event_index INTEGER NOT NULL
        );
        CREATE INDEX openlineage_events_run ON openlineage_events(run_uuid, seq);
        CREATE INDEX openlineage_events_job ON openlineage_events(job_namespace, job_name, seq);
        CREATE INDEX openlineage_events_event ON openlineage_events(event_index);
        CREATE INDEX openlineage_events_body ON openlineage_events(body_digest);
        CREATE TABLE openlineage_datasets (
            seq INTEGER PRIMARY KEY,
            event_seq INTEGER NOT NULL,
            role TEXT NOT NULL,
            namespace TEXT NOT NULL,
            name TEXT NOT NULL,
            version TEXT,
            schema_json TEXT,
            dataset_type TEXT,
            event_index INTEGER NOT NULL
        );
        CREATE INDEX openlineage_datasets_name ON openlineage_datasets(namespace, name);
        CREATE INDEX openlineage_datasets_version ON openlineage_datasets(version);
        CREATE INDEX openlineage_datasets_event_seq ON openlineage_datasets(event_seq);
        CREATE INDEX openlineage_datasets_event ON openlineage_datasets(event_index);
        -- OpenLineage out: per receiver, the next ledger index to deliver (the ledger is the
        -- outbox: every fact's event is written in the fact's transaction). Operational state.
        CREATE TABLE openlineage_cursors (
            receiver TEXT PRIMARY KEY,
            next_index INTEGER NOT NULL,
            delivered INTEGER NOT NULL,
            failures INTEGER NOT NULL,
            last_error TEXT,
            last_attempt INTEGER,
            next_attempt INTEGER NOT NULL
        );
        """ + appendOnlyTriggers(["openlineage_events", "openlineage_datasets"])

    /// Replaces a table's no-delete trigger by one that lets through the rows of retired writes.
    static func retirableTriggers(_ tables: [String]) -> String {
        tables.map { table in
            """

            DROP TRIGGER \(table)_no_delete;
            CREATE TRIGGER \(table)_no_delete BEFORE DELETE ON \(table) WHEN NOT EXISTS (
                SELECT 1 FROM retired_writes r WHERE r.table_name = '\(table)' AND r.written_event = OLD.event_index)
                BEGIN SELECT RAISE(ABORT, '\(table) is append-only'); END;
            """
        }.joined()
    }

    /// Webhooks and the outbox (issue #19). Endpoints and allowed networks are entities whose
    /// every state is in `state_history` (registering, removing and allowing are admin decisions,
    /// each a ledger event). Their secrets are key material, kept outside the record like
    /// `seal_keys`. `outbox` holds one message per (ledger event, subscribed endpoint), inserted
    /// by the store in the transaction that appends the event, so a committed fact always has
    /// its messages and a refused batch has none; it and `outbox_attempts` are operational
    /// (delivery status changes), outside the record.
    static let v014 = """
        CREATE TABLE webhook_endpoints (
            pk INTEGER PRIMARY KEY,
            webhook_id TEXT NOT NULL UNIQUE,
            url TEXT NOT NULL,
            events TEXT NOT NULL,
            description TEXT NOT NULL,
            created_by TEXT NOT NULL,
            creation_time INTEGER NOT NULL,
            removed_time INTEGER,
            event_index INTEGER NOT NULL
        );
        CREATE TABLE webhook_secrets (
            webhook_id TEXT PRIMARY KEY,
            secret TEXT NOT NULL
        );
        CREATE TABLE webhook_allowances (
            pk INTEGER PRIMARY KEY,
            cidr TEXT NOT NULL UNIQUE,
            reason TEXT NOT NULL,
            actor TEXT NOT NULL,
            time INTEGER NOT NULL,
            removed_time INTEGER,
            event_index INTEGER NOT NULL
        );
        CREATE TABLE outbox (
            pk INTEGER PRIMARY KEY,
            delivery_id TEXT NOT NULL UNIQUE,
            target TEXT NOT NULL,
            topic TEXT NOT NULL,
            event_index INTEGER,
            model_name TEXT,
            model_version INTEGER,
            status TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            next_attempt_time INTEGER NOT NULL,
            created_time INTEGER NOT NULL,
            delivered_time INTEGER,
            last_status_code INTEGER,
            last_error TEXT
        );
        CREATE INDEX outbox_due ON outbox(status, next_attempt_time);
        CREATE INDEX outbox_target ON outbox(target, pk);
        CREATE TABLE outbox_attempts (
            pk INTEGER PRIMARY KEY,
            delivery_id TEXT NOT NULL,
            attempt INTEGER NOT NULL,
            time INTEGER NOT NULL,
            status_code INTEGER,
            error TEXT,
            duration_ms INTEGER NOT NULL
        );
        CREATE INDEX outbox_attempts_delivery ON outbox_attempts(delivery_id, pk);
        """

    static func appendOnlyTriggers(_ tables: [String]) -> String {
        tables.map { table in
            """

            CREATE TRIGGER \(table)_no_update BEFORE UPDATE ON \(table)
                BEGIN SELECT RAISE(ABORT, '\(table) is append-only'); END;
            CREATE TRIGGER \(table)_no_delete BEFORE DELETE ON \(table)
                BEGIN SELECT RAISE(ABORT, '\(table) is append-only'); END;
            """
        }.joined()
    }

    static let v001 = """
        CREATE TABLE ledger_events (
            idx INTEGER PRIMARY KEY,
            event_id TEXT NOT NULL UNIQUE,
            action TEXT NOT NULL,
            actor_type TEXT NOT NULL,
            actor_id TEXT NOT NULL,
            subject_type TEXT NOT NULL,
            subject_id TEXT NOT NULL,
            time INTEGER NOT NULL,
            body BLOB NOT NULL
        );
        CREATE INDEX ledger_events_subject ON ledger_events(subject_type, subject_id, idx);
        CREATE INDEX ledger_events_actor ON ledger_events(actor_id, idx);
        CREATE INDEX ledger_events_action ON ledger_events(action, idx);
        CREATE INDEX ledger_events_time ON ledger_events(time);

        CREATE TABLE experiments (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            lifecycle_stage TEXT NOT NULL,
            creation_time INTEGER NOT NULL,
            last_update_time INTEGER NOT NULL,
            event_index INTEGER NOT NULL
        );
        CREATE INDEX experiments_created ON experiments(creation_time DESC, id);
        CREATE TABLE experiment_tag_history (
            seq INTEGER PRIMARY KEY,
            experiment_id INTEGER NOT NULL REFERENCES experiments(id),
            key TEXT NOT NULL,
            value TEXT,
            time INTEGER NOT NULL,
            actor TEXT NOT NULL,
            event_index INTEGER NOT NULL
        );
        CREATE INDEX experiment_tag_history_key ON experiment_tag_history(experiment_id, key, seq);
        -- Projection of experiment_tag_history: the last value per key.
        CREATE TABLE experiment_tags (
            experiment_id INTEGER NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (experiment_id, key)
        ) WITHOUT ROWID;

        CREATE TABLE runs (
            pk INTEGER PRIMARY KEY,
            run_id TEXT NOT NULL UNIQUE,
            experiment_id INTEGER NOT NULL REFERENCES experiments(id),
            name TEXT NOT NULL,
            user_id TEXT NOT NULL,
            status TEXT NOT NULL,
            start_time INTEGER NOT NULL,
            end_time INTEGER,
            lifecycle_stage TEXT NOT NULL,
            event_index INTEGER NOT NULL
        );
        CREATE INDEX runs_experiment_start ON runs(experiment_id, start_time DESC, run_id);

        CREATE TABLE params (
            run_pk INTEGER NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            event_index INTEGER NOT NULL,
            PRIMARY KEY (run_pk, key)
        ) WITHOUT ROWID;
        CREATE INDEX params_key_value ON params(key, value);

        CREATE TABLE metrics (
            run_pk INTEGER NOT NULL,
            key TEXT NOT NULL,
            value REAL,
            is_nan INTEGER NOT NULL,
            timestamp INTEGER NOT NULL,
            step INTEGER NOT NULL,
            event_index INTEGER NOT NULL
        );
        CREATE INDEX metrics_history ON metrics(run_pk, key, timestamp, step);
        -- Projection of metrics: the latest point per key by (step, timestamp, value).
        CREATE TABLE latest_metrics (
            run_pk INTEGER NOT NULL,
            key TEXT NOT NULL,
            value REAL,
            is_nan INTEGER NOT NULL,
            timestamp INTEGER NOT NULL,
            step INTEGER NOT NULL,
            PRIMARY KEY (run_pk, key)
        ) WITHOUT ROWID;
        CREATE INDEX latest_metrics_key_value ON latest_metrics(key, value);

        CREATE TABLE run_tag_history (
            seq INTEGER PRIMARY KEY,
            run_pk INTEGER NOT NULL,
            key TEXT NOT NULL,
            value TEXT,
            time INTEGER NOT NULL,
            actor TEXT NOT NULL,
            event_index INTEGER NOT NULL
        );
        CREATE INDEX run_tag_history_key ON run_tag_history(run_pk, key, seq);
        -- Projection of run_tag_history: the last value per key.
        CREATE TABLE run_tags (
            run_pk INTEGER NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (run_pk, key)
        ) WITHOUT ROWID;
        CREATE INDEX run_tags_key_value ON run_tags(key, value);

        CREATE TABLE dataset_inputs (
            seq INTEGER PRIMARY KEY,
            run_pk INTEGER NOT NULL,
            name TEXT NOT NULL,
            digest TEXT NOT NULL,
            source_type TEXT NOT NULL,
            source TEXT NOT NULL,
            schema_json TEXT,
            profile_json TEXT,
            context TEXT NOT NULL DEFAULT '',
            event_index INTEGER NOT NULL,
            UNIQUE (run_pk, name, digest, context)
        );
        CREATE INDEX dataset_inputs_digest ON dataset_inputs(digest);

        CREATE TABLE artifacts (
            run_pk INTEGER NOT NULL,
            path TEXT NOT NULL,
            digest TEXT NOT NULL,
            size_bytes INTEGER NOT NULL,
            created_time INTEGER NOT NULL,
            event_index INTEGER NOT NULL,
            PRIMARY KEY (run_pk, path)
        ) WITHOUT ROWID;
        CREATE INDEX artifacts_digest ON artifacts(digest);
        """ + appendOnlyTriggers(appendOnlyTables)
}
