/// The OpenAPI 3.0.3 description of the native API under `/api/v1`, served at
/// `GET /api/v1/openapi.json` and fuzzed by `compat/fuzz.sh` (schemathesis). Keep it in step
/// with the routes in this folder: every route registered under /api/v1 has an operation here.
enum OpenAPIDocument {
    static let json: String = #"""
        {
          "openapi": "3.0.3",
          "info": {
            "title": "ModelTrail native API",
            "version": "0.1.0",
            "description": "Tracking, artifacts, registry and ledger. Send 'Authorization: Bearer <token>' (trail tokens create USER)."
          },
          "servers": [{"url": "/"}],
          "security": [{"bearerAuth": []}],
          "tags": [
            {"name": "meta"},
            {"name": "experiments"},
            {"name": "runs"},
            {"name": "artifacts"},
            {"name": "ledger"},
            {"name": "models"},
            {"name": "keys"},
            {"name": "identity"},
            {"name": "lineage"},
            {"name": "webhooks"}
          ],
          "paths": {
            "/api/v1/health": {
              "get": {
                "operationId": "health",
                "summary": "Liveness and version",
                "tags": ["meta"],
                "security": [],
                "responses": {
                  "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}},
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"}
                }
              }
            },
            "/api/v1/openapi.json": {
              "get": {
                "operationId": "openapi",
                "summary": "This OpenAPI document",
                "tags": ["meta"],
                "description": "Access: read (any authenticated user).",
                "responses": {
                  "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"}
                }
              }
            },
            "/api/v1/experiments": {
              "post": {
                "operationId": "createExperiment",
                "summary": "Create an experiment",
                "tags": ["experiments"],
                "description": "Access: write (contributor or admin).",
                "requestBody": {
                  "required": true,
                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CreateExperiment"}}}
                },
                "responses": {
                  "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ExperimentBody"}}}},
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"},
                  "409": {"$ref": "#/components/responses/Conflict"},
                  "413": {"$ref": "#/components/responses/TooLarge"}
                }
              },
              "get": {
                "operationId": "listExperiments",
                "summary": "List experiments, or look one up by name",
                "tags": ["experiments"],
                "description": "Access: read (any authenticated user).",
                "parameters": [
                  {
                    "name": "name",
                    "in": "query",
                    "required": false,
                    "schema": {"type": "string"},
                    "description": "Return the experiment with this name instead of a list."
                  },
                  {
                    "name": "view",
                    "in": "query",
                    "required": false,
                    "schema": {"type": "string", "enum": ["active", "active_only", "deleted", "deleted_only", "all"]},
                    "description": "Which lifecycle stages to list (case-insensitive; default active)."
                  },
                  {"$ref": "#/components/parameters/max_results"},
                  {"$ref": "#/components/parameters/page_token"}
                ],
                "responses": {
                  "200": {
                    "description": "An ExperimentList, or an ExperimentBody when 'name' is given",
                    "content": {
                      "application/json": {
                        "schema": {
                          "oneOf": [{"$ref": "#/components/schemas/ExperimentList"}, {"$ref": "#/components/schemas/ExperimentBody"}]
                        }
                      }
                    }
                  },
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"}
                }
              }
            },
            "/api/v1/experiments/{experiment_id}": {
              "get": {
                "operationId": "getExperiment",
                "summary": "Get an experiment",
                "tags": ["experiments"],
                "description": "Access: read (any authenticated user).",
                "parameters": [{"$ref": "#/components/parameters/experiment_id"}],
                "responses": {
                  "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ExperimentBody"}}}},
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"}
                }
              }
            },
            "/api/v1/experiments/{experiment_id}/delete": {
              "post": {
                "operationId": "deleteExperiment",
                "summary": "Soft-delete an experiment",
                "tags": ["experiments"],
                "description": "Access: write (contributor or admin).",
                "parameters": [{"$ref": "#/components/parameters/experiment_id"}],
                "responses": {
                  "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ExperimentBody"}}}},
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"},
                  "409": {"$ref": "#/components/responses/Conflict"}
                }
              }
            },
            "/api/v1/experiments/{experiment_id}/restore": {
              "post": {
                "operationId": "restoreExperiment",
                "summary": "Restore a deleted experiment",
                "tags": ["experiments"],
                "description": "Access: write (contributor or admin).",
                "parameters": [{"$ref": "#/components/parameters/experiment_id"}],
                "responses": {
                  "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ExperimentBody"}}}},
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"},
                  "409": {"$ref": "#/components/responses/Conflict"}
                }
              }
            },
            "/api/v1/experiments/{experiment_id}/rename": {
              "post": {
                "operationId": "renameExperiment",
                "summary": "Rename an experiment",
                "tags": ["experiments"],
                "description": "Access: write (contributor or admin).",
                "parameters": [{"$ref": "#/components/parameters/experiment_id"}],
                "requestBody": {
                  "required": true,
                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RenameExperiment"}}}
                },
                "responses": {
                  "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ExperimentBody"}}}},
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"},
                  "409": {"$ref": "#/components/responses/Conflict"},
                  "413": {"$ref": "#/components/responses/TooLarge"}
                }
              }
            },
            "/api/v1/experiments/{experiment_id}/tags": {
              "post": {
                "operationId": "setExperimentTag",
                "summary": "Set an experiment tag",
                "tags": ["experiments"],
                "description": "Access: write (contributor or admin).",
                "parameters": [{"$ref": "#/components/parameters/experiment_id"}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SetTag"}}}},
                "responses": {
                  "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Empty"}}}},
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"},
                  "409": {"$ref": "#/components/responses/Conflict"},
                  "413": {"$ref": "#/components/responses/TooLarge"}
                }
              }
            },
            "/api/v1/experiments/{experiment_id}/tags/{key}": {
              "delete": {
                "operationId": "deleteExperimentTag",
                "summary": "Delete an experiment tag",
                "tags": ["experiments"],
                "description": "Access: write (contributor or admin).",
                "parameters": [{"$ref": "#/components/parameters/experiment_id"}, {"$ref": "#/components/parameters/tag_key"}],
                "responses": {
                  "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Empty"}}}},
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"},
                  "409": {"$ref": "#/components/responses/Conflict"}
                }
              }
            },
            "/api/v1/experiments/{experiment_id}/tags/history": {
              "get": {
                "operationId": "experimentTagHistory",
                "summary": "Every change to an experiment's tags",
                "tags": ["experiments"],
                "description": "Access: read (any authenticated user).",
                "parameters": [{"$ref": "#/components/parameters/experiment_id"}],
                "responses": {
                  "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TagHistory"}}}},
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"}
                }
              }
            },
            "/api/v1/runs": {
              "post": {
                "operationId": "createRun",
                "summary": "Create a run",
                "tags": ["runs"],
                "description": "Access: write (contributor or admin).",
                "requestBody": {"required": false, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CreateRun"}}}},
                "responses": {
                  "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RunBody"}}}},
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"},
                  "409": {"$ref": "#/components/responses/Conflict"},
                  "413": {"$ref": "#/components/responses/TooLarge"}
                }
              }
            },
            "/api/v1/runs/search": {
              "post": {
                "operationId": "searchRuns",
                "summary": "Search runs",
                "tags": ["runs"],
                "description": "Access: read (any authenticated user).",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SearchRuns"}}}},
                "responses": {
                  "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RunList"}}}},
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"},
                  "413": {"$ref": "#/components/responses/TooLarge"}
                }
              }
            },
            "/api/v1/runs/{run_id}": {
              "get": {
                "operationId": "getRun",
                "summary": "Get a run",
                "tags": ["runs"],
                "description": "Access: read (any authenticated user).",
                "parameters": [{"$ref": "#/components/parameters/run_id"}],
                "responses": {
                  "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RunBody"}}}},
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"}
                }
              },
              "patch": {
                "operationId": "updateRun",
                "summary": "Update a run's status, end time or name",
                "tags": ["runs"],
                "description": "Access: write (contributor or admin).",
                "parameters": [{"$ref": "#/components/parameters/run_id"}],
                "requestBody": {"required": false, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UpdateRun"}}}},
                "responses": {
                  "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RunInfoBody"}}}},
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"},
                  "409": {"$ref": "#/components/responses/Conflict"},
                  "413": {"$ref": "#/components/responses/TooLarge"}
                }
              }
            },
            "/api/v1/runs/{run_id}/delete": {
              "post": {
                "operationId": "deleteRun",
                "summary": "Soft-delete a run",
                "tags": ["runs"],
                "description": "Access: write (contributor or admin).",
                "parameters": [{"$ref": "#/components/parameters/run_id"}],
                "responses": {
                  "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Empty"}}}},
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"},
                  "409": {"$ref": "#/components/responses/Conflict"}
                }
              }
            },
            "/api/v1/runs/{run_id}/restore": {
              "post": {
                "operationId": "restoreRun",
                "summary": "Restore a deleted run",
                "tags": ["runs"],
                "description": "Access: write (contributor or admin).",
                "parameters": [{"$ref": "#/components/parameters/run_id"}],
                "responses": {
                  "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Empty"}}}},
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"},
                  "409": {"$ref": "#/components/responses/Conflict"}
                }
              }
            },
            "/api/v1/runs/{run_id}/params": {
              "post": {
                "operationId": "logParam",
                "summary": "Log an immutable parameter",
                "tags": ["runs"],
                "description": "Access: write (contributor or admin).",
                "parameters": [{"$ref": "#/components/parameters/run_id"}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Param"}}}},
                "responses": {
                  "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Empty"}}}},
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"},
                  "409": {"$ref": "#/components/responses/Conflict"},
                  "413": {"$ref": "#/components/responses/TooLarge"}
                }
              }
            },
            "/api/v1/runs/{run_id}/metrics": {
              "post": {
                "operationId": "logMetric",
                "summary": "Log one metric point",
                "tags": ["runs"],
                "description": "Access: write (contributor or admin).",
                "parameters": [{"$ref": "#/components/parameters/run_id"}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Metric"}}}},
                "responses": {
                  "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Empty"}}}},
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"},
                  "409": {"$ref": "#/components/responses/Conflict"},
                  "413": {"$ref": "#/components/responses/TooLarge"}
                }
              }
            },
            "/api/v1/runs/{run_id}/batch": {
              "post": {
                "operationId": "logBatch",
                "summary": "Log metrics, params and tags at once",
                "tags": ["runs"],
                "description": "Access: write (contributor or admin).",
                "parameters": [{"$ref": "#/components/parameters/run_id"}],
                "requestBody": {"required": false, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/LogBatch"}}}},
                "responses": {
                  "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Empty"}}}},
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"},
                  "409": {"$ref": "#/components/responses/Conflict"},
                  "413": {"$ref": "#/components/responses/TooLarge"}
                }
              }
            },
            "/api/v1/runs/{run_id}/tags": {
              "post": {
                "operationId": "setRunTag",
                "summary": "Set a run tag",
                "tags": ["runs"],
                "description": "Access: write (contributor or admin).",
                "parameters": [{"$ref": "#/components/parameters/run_id"}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SetTag"}}}},
                "responses": {
                  "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Empty"}}}},
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"},
                  "409": {"$ref": "#/components/responses/Conflict"},
                  "413": {"$ref": "#/components/responses/TooLarge"}
                }
              }
            },
            "/api/v1/runs/{run_id}/tags/{key}": {
              "delete": {
                "operationId": "deleteRunTag",
                "summary": "Delete a run tag",
                "tags": ["runs"],
                "description": "Access: write (contributor or admin).",
                "parameters": [{"$ref": "#/components/parameters/run_id"}, {"$ref": "#/components/parameters/tag_key"}],
                "responses": {
                  "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Empty"}}}},
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"},
                  "409": {"$ref": "#/components/responses/Conflict"}
                }
              }
            },
            "/api/v1/runs/{run_id}/tags/history": {
              "get": {
                "operationId": "runTagHistory",
                "summary": "Every change to a run's tags",
                "tags": ["runs"],
                "description": "Access: read (any authenticated user).",
                "parameters": [{"$ref": "#/components/parameters/run_id"}],
                "responses": {
                  "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TagHistory"}}}},
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"}
                }
              }
            },
            "/api/v1/runs/{run_id}/metrics/{key}/history": {
              "get": {
                "operationId": "metricHistory",
                "summary": "Every point of one metric",
                "tags": ["runs"],
                "description": "Access: read (any authenticated user).",
                "parameters": [
                  {"$ref": "#/components/parameters/run_id"},
                  {"$ref": "#/components/parameters/metric_key"},
                  {"$ref": "#/components/parameters/max_results_metrics"},
                  {"$ref": "#/components/parameters/page_token"}
                ],
                "responses": {
                  "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/MetricHistory"}}}},
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"}
                }
              }
            },
            "/api/v1/runs/{run_id}/inputs": {
              "post": {
                "operationId": "logInputs",
                "summary": "Record data sets the run used",
                "tags": ["runs"],
                "description": "Access: write (contributor or admin).",
                "parameters": [{"$ref": "#/components/parameters/run_id"}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/LogInputs"}}}},
                "responses": {
                  "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Empty"}}}},
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"},
                  "409": {"$ref": "#/components/responses/Conflict"},
                  "413": {"$ref": "#/components/responses/TooLarge"}
                }
              }
            },
            "/api/v1/runs/{run_id}/artifacts": {
              "get": {
                "operationId": "listArtifacts",
                "summary": "List a run's artifacts",
                "tags": ["artifacts"],
                "description": "Access: read (any authenticated user).",
                "parameters": [
                  {"$ref": "#/components/parameters/run_id"},
                  {
                    "name": "prefix",
                    "in": "query",
                    "required": false,
                    "schema": {"type": "string"},
                    "description": "Only paths under this prefix."
                  }
                ],
                "responses": {
                  "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ArtifactList"}}}},
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"}
                }
              }
            },
            "/api/v1/runs/{run_id}/artifacts/{path}": {
              "put": {
                "operationId": "uploadArtifact",
                "summary": "Upload (stream) an artifact",
                "tags": ["artifacts"],
                "description": "Access: write (contributor or admin).",
                "parameters": [
                  {"$ref": "#/components/parameters/run_id"},
                  {
                    "name": "path",
                    "in": "path",
                    "required": true,
                    "schema": {"type": "string", "minLength": 1},
                    "description": "The artifact's logical path (may contain '/'); each segment percent-encoded. Takes no query string."
                  }
                ],
                "requestBody": {
                  "required": true,
                  "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
                },
                "responses": {
                  "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ArtifactBody"}}}},
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"},
                  "409": {"$ref": "#/components/responses/Conflict"},
                  "413": {"$ref": "#/components/responses/TooLarge"}
                }
              },
              "get": {
                "operationId": "downloadArtifact",
                "summary": "Download (stream) an artifact; its digest is the ETag and X-Content-SHA256",
                "tags": ["artifacts"],
                "description": "Access: read (any authenticated user).",
                "parameters": [
                  {"$ref": "#/components/parameters/run_id"},
                  {
                    "name": "path",
                    "in": "path",
                    "required": true,
                    "schema": {"type": "string", "minLength": 1},
                    "description": "The artifact's logical path (may contain '/'); each segment percent-encoded. Takes no query string."
                  }
                ],
                "responses": {
                  "200": {
                    "description": "The artifact's bytes",
                    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
                  },
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"}
                }
              }
            },
            "/api/v1/ledger/checkpoint": {
              "get": {
                "operationId": "ledgerCheckpoint",
                "summary": "The latest signed checkpoint",
                "tags": ["ledger"],
                "description": "Access: read (any authenticated user).",
                "responses": {
                  "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Checkpoint"}}}},
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"}
                }
              }
            },
            "/api/v1/ledger/public-key": {
              "get": {
                "operationId": "ledgerPublicKey",
                "summary": "The log's origin and verifier key",
                "tags": ["ledger"],
                "description": "Access: read (any authenticated user).",
                "responses": {
                  "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PublicKey"}}}},
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"}
                }
              }
            },
            "/api/v1/ledger/events": {
              "get": {
                "operationId": "ledgerEvents",
                "summary": "Ledger events, filtered",
                "tags": ["ledger"],
                "description": "Access: read (any authenticated user).",
                "parameters": [
                  {"name": "subject_type", "in": "query", "required": false, "schema": {"type": "string"}},
                  {"name": "subject_id", "in": "query", "required": false, "schema": {"type": "string"}},
                  {"name": "actor", "in": "query", "required": false, "schema": {"type": "string"}, "description": "Actor id."},
                  {"name": "action", "in": "query", "required": false, "schema": {"type": "string"}},
                  {
                    "name": "since",
                    "in": "query",
                    "required": false,
                    "schema": {"type": "integer", "format": "int64"},
                    "description": "From this time (ms since the epoch)."
                  },
                  {
                    "name": "until",
                    "in": "query",
                    "required": false,
                    "schema": {"type": "integer", "format": "int64"},
                    "description": "Up to this time (ms since the epoch)."
                  },
                  {
                    "name": "from",
                    "in": "query",
                    "required": false,
                    "schema": {"type": "integer", "format": "int64", "minimum": 0},
                    "description": "First event index (default 0)."
                  },
                  {
                    "name": "limit",
                    "in": "query",
                    "required": false,
                    "schema": {"type": "integer", "format": "int64", "minimum": 1, "maximum": 10000},
                    "description": "At most this many events (default 100)."
                  }
                ],
                "responses": {
                  "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/LedgerEvents"}}}},
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"}
                }
              }
            },
            "/api/v1/ledger/events/{reference}": {
              "get": {
                "operationId": "ledgerEvent",
                "summary": "One event, by index or event id",
                "tags": ["ledger"],
                "description": "Access: read (any authenticated user).",
                "parameters": [
                  {
                    "name": "reference",
                    "in": "path",
                    "required": true,
                    "schema": {"type": "string", "minLength": 1},
                    "description": "An event index (integer) or an event id."
                  }
                ],
                "responses": {
                  "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/LedgerEvent"}}}},
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"}
                }
              }
            },
            "/api/v1/ledger/proofs/inclusion": {
              "get": {
                "operationId": "inclusionProof",
                "summary": "Inclusion proof of an event in a checkpoint",
                "tags": ["ledger"],
                "description": "Access: read (any authenticated user).",
                "parameters": [
                  {
                    "name": "index",
                    "in": "query",
                    "required": true,
                    "schema": {"type": "integer", "format": "int64", "minimum": 0},
                    "description": "The event's index."
                  },
                  {
                    "name": "size",
                    "in": "query",
                    "required": false,
                    "schema": {"type": "integer", "format": "int64", "minimum": 1},
                    "description": "The checkpoint size (default: the latest)."
                  }
                ],
                "responses": {
                  "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/InclusionProof"}}}},
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"}
                }
              }
            },
            "/api/v1/ledger/proofs/consistency": {
              "get": {
                "operationId": "consistencyProof",
                "summary": "Consistency proof between two checkpoint sizes",
                "tags": ["ledger"],
                "description": "Access: read (any authenticated user).",
                "parameters": [
                  {"name": "first", "in": "query", "required": true, "schema": {"type": "integer", "format": "int64", "minimum": 1}},
                  {
                    "name": "second",
                    "in": "query",
                    "required": true,
                    "schema": {"type": "integer", "format": "int64", "minimum": 1},
                    "description": "At least first."
                  }
                ],
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ConsistencyProof"}}}
                  },
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"}
                }
              }
            },
            "/api/v1/ledger/export": {
              "get": {
                "operationId": "ledgerExport",
                "summary": "Every event, one JSON object per line",
                "tags": ["ledger"],
                "description": "Access: read (any authenticated user).",
                "responses": {
                  "200": {"description": "Newline-delimited JSON", "content": {"application/x-ndjson": {"schema": {"type": "string"}}}},
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"}
                }
              }
            },
            "/api/v1/models": {
              "post": {
                "operationId": "createModel",
                "summary": "Register a model name",
                "tags": ["models"],
                "description": "Access: write (contributor or admin).",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CreateModel"}}}},
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RegisteredModel"}}}
                  },
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"},
                  "409": {"$ref": "#/components/responses/Conflict"},
                  "413": {"$ref": "#/components/responses/TooLarge"}
                }
              },
              "get": {
                "operationId": "listModels",
                "summary": "List registered models",
                "tags": ["models"],
                "description": "Access: read (any authenticated user).",
                "parameters": [{"$ref": "#/components/parameters/max_results_models"}, {"$ref": "#/components/parameters/page_token"}],
                "responses": {
                  "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ModelList"}}}},
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"}
                }
              }
            },
            "/api/v1/models/{name}": {
              "get": {
                "operationId": "getModel",
                "summary": "A model with its versions",
                "tags": ["models"],
                "description": "Access: read (any authenticated user).",
                "parameters": [{"$ref": "#/components/parameters/model_name"}],
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ModelWithVersions"}}}
                  },
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"}
                }
              }
            },
            "/api/v1/models/{name}/versions": {
              "post": {
                "operationId": "createModelVersion",
                "summary": "Register a version from a run's artifact folder",
                "tags": ["models"],
                "description": "Access: write (contributor or admin).",
                "parameters": [{"$ref": "#/components/parameters/model_name"}],
                "requestBody": {
                  "required": true,
                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CreateVersion"}}}
                },
                "responses": {
                  "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ModelVersion"}}}},
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"},
                  "409": {"$ref": "#/components/responses/Conflict"},
                  "413": {"$ref": "#/components/responses/TooLarge"}
                }
              }
            },
            "/api/v1/models/{name}/versions/{version}": {
              "get": {
                "operationId": "getModelVersion",
                "summary": "One version",
                "tags": ["models"],
                "description": "Access: read (any authenticated user).",
                "parameters": [{"$ref": "#/components/parameters/model_name"}, {"$ref": "#/components/parameters/version"}],
                "responses": {
                  "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ModelVersion"}}}},
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"}
                }
              }
            },
            "/api/v1/models/{name}/versions/{version}/stage": {
              "post": {
                "operationId": "transitionStage",
                "summary": "Move a version to a stage (through the promotion gate)",
                "tags": ["models"],
                "description": "Access: write (contributor or admin).",
                "parameters": [{"$ref": "#/components/parameters/model_name"}, {"$ref": "#/components/parameters/version"}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Transition"}}}},
                "responses": {
                  "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ModelVersion"}}}},
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"},
                  "409": {"$ref": "#/components/responses/Conflict"},
                  "413": {"$ref": "#/components/responses/TooLarge"}
                }
              }
            },
            "/api/v1/models/{name}/aliases": {
              "post": {
                "operationId": "setAlias",
                "summary": "Point an alias at a version (through the promotion gate)",
                "tags": ["models"],
                "description": "Access: write (contributor or admin).",
                "parameters": [{"$ref": "#/components/parameters/model_name"}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SetAlias"}}}},
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RegisteredModel"}}}
                  },
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"},
                  "409": {"$ref": "#/components/responses/Conflict"},
                  "413": {"$ref": "#/components/responses/TooLarge"}
                }
              }
            },
            "/api/v1/models/{name}/aliases/emergency": {
              "post": {
                "operationId": "emergencySetAlias",
                "summary": "Point an alias at a version, bypassing the gate (recorded)",
                "tags": ["models"],
                "description": "Access: admin (admin role).",
                "parameters": [{"$ref": "#/components/parameters/model_name"}],
                "requestBody": {
                  "required": true,
                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/EmergencySetAlias"}}}
                },
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RegisteredModel"}}}
                  },
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"},
                  "409": {"$ref": "#/components/responses/Conflict"},
                  "413": {"$ref": "#/components/responses/TooLarge"}
                }
              }
            },
            "/api/v1/models/{name}/aliases/{alias}": {
              "delete": {
                "operationId": "deleteAlias",
                "summary": "Remove an alias",
                "tags": ["models"],
                "description": "Access: write (contributor or admin).",
                "parameters": [
                  {"$ref": "#/components/parameters/model_name"},
                  {"$ref": "#/components/parameters/alias"},
                  {"name": "reason", "in": "query", "required": false, "schema": {"type": "string"}}
                ],
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RegisteredModel"}}}
                  },
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"},
                  "409": {"$ref": "#/components/responses/Conflict"}
                }
              }
            },
            "/api/v1/models/{name}/policies": {
              "get": {
                "operationId": "getPolicy",
                "summary": "The current promotion policy of a target",
                "tags": [
                  "models"
                ],
                "description": "Access: read (any authenticated user).",
                "parameters": [
                  {
                    "$ref": "#/components/parameters/model_name"
                  },
                  {
                    "name": "target",
                    "in": "query",
                    "required": true,
                    "schema": {
                      "type": "string",
                      "minLength": 1
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/StoredPolicy"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  }
                }
              },
              "post": {
                "operationId": "setPolicy",
                "summary": "Set the promotion policy for a target (stores its next version)",
                "tags": ["models"],
                "description": "Access: admin (admin role).",
                "parameters": [
                  {"$ref": "#/components/parameters/model_name"},
                  {
                    "name": "target",
                    "in": "query",
                    "required": true,
                    "schema": {"type": "string", "minLength": 1},
                    "description": "@alias or a stage name."
                  }
                ],
                "requestBody": {
                  "required": true,
                  "description": "The policy document, stored as sent (Content-Type: application/json).",
                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PromotionPolicy"}}}
                },
                "responses": {
                  "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PolicyVersion"}}}},
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"},
                  "409": {"$ref": "#/components/responses/Conflict"},
                  "413": {"$ref": "#/components/responses/TooLarge"}
                }
              }
            },
            "/api/v1/models/{name}/versions/{version}/check": {
              "get": {
                "operationId": "checkGate",
                "summary": "Evaluate the promotion policy for moving a version to a target",
                "tags": ["models"],
                "description": "Access: read (any authenticated user).",
                "parameters": [
                  {"$ref": "#/components/parameters/model_name"},
                  {"$ref": "#/components/parameters/version"},
                  {
                    "name": "to",
                    "in": "query",
                    "required": true,
                    "schema": {"type": "string", "minLength": 1},
                    "description": "@alias or a stage name."
                  }
                ],
                "responses": {
                  "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/GateReport"}}}},
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"}
                }
              }
            },
            "/api/v1/models/{name}/versions/{version}/approvals": {
              "post": {
                "operationId": "approveVersion",
                "summary": "Approve or reject a version for a target",
                "tags": ["models"],
                "description": "Access: approve (approver role).",
                "parameters": [{"$ref": "#/components/parameters/model_name"}, {"$ref": "#/components/parameters/version"}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Decision"}}}},
                "responses": {
                  "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Approval"}}}},
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"},
                  "409": {"$ref": "#/components/responses/Conflict"},
                  "413": {"$ref": "#/components/responses/TooLarge"}
                }
              },
              "get": {
                "operationId": "listApprovals",
                "summary": "A version's approvals",
                "tags": ["models"],
                "description": "Access: read (any authenticated user).",
                "parameters": [{"$ref": "#/components/parameters/model_name"}, {"$ref": "#/components/parameters/version"}],
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Approval"}}}}
                  },
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"}
                }
              }
            },
            "/api/v1/models/{name}/versions/{version}/attestations": {
              "post": {
                "operationId": "attestVersion",
                "summary": "Submit a DSSE-signed in-toto attestation about a version",
                "tags": ["models"],
                "description": "Access: write (contributor or admin).",
                "parameters": [
                  {"$ref": "#/components/parameters/model_name"},
                  {"$ref": "#/components/parameters/version"},
                  {
                    "name": "predicate_type",
                    "in": "query",
                    "required": false,
                    "schema": {"type": "string"},
                    "description": "Refuse the envelope unless its statement has this predicate type."
                  }
                ],
                "requestBody": {
                  "required": true,
                  "description": "A DSSE envelope, verified over the bytes as sent (Content-Type: application/json); at most 1 MiB.",
                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DSSEEnvelope"}}}
                },
                "responses": {
                  "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Attestation"}}}},
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"},
                  "409": {"$ref": "#/components/responses/Conflict"},
                  "413": {"$ref": "#/components/responses/TooLarge"}
                }
              },
              "get": {
                "operationId": "listAttestations",
                "summary": "A version's accepted attestations",
                "tags": ["models"],
                "description": "Access: read (any authenticated user).",
                "parameters": [{"$ref": "#/components/parameters/model_name"}, {"$ref": "#/components/parameters/version"}],
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Attestation"}}}}
                  },
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"}
                }
              }
            },
            "/api/v1/models/{name}/history": {
              "get": {
                "operationId": "modelHistory",
                "summary": "Every alias and stage change of a model",
                "tags": ["models"],
                "description": "Access: read (any authenticated user).",
                "parameters": [{"$ref": "#/components/parameters/model_name"}],
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RegistryHistory"}}}
                  },
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"}
                }
              }
            },
            "/api/v1/models/{name}/at": {
              "get": {
                "operationId": "resolveAt",
                "summary": "What an alias or stage pointed at, at a time",
                "tags": ["models"],
                "description": "Access: read (any authenticated user).",
                "parameters": [
                  {"$ref": "#/components/parameters/model_name"},
                  {
                    "name": "ref",
                    "in": "query",
                    "required": true,
                    "schema": {"type": "string", "minLength": 1},
                    "description": "An alias or a stage."
                  },
                  {
                    "name": "time",
                    "in": "query",
                    "required": true,
                    "schema": {"type": "integer", "format": "int64"},
                    "description": "Milliseconds since the epoch."
                  }
                ],
                "responses": {
                  "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Resolution"}}}},
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"}
                }
              }
            },
            "/api/v1/keys": {
              "get": {
                "operationId": "listKeys",
                "summary": "Signing keys trusted for attestations",
                "tags": ["keys"],
                "description": "Access: read (any authenticated user).",
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/TrustedKey"}}}}
                  },
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"}
                }
              },
              "post": {
                "operationId": "trustKey",
                "summary": "Trust an Ed25519 key for predicate types",
                "tags": ["keys"],
                "description": "Access: admin (admin role).",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TrustKey"}}}},
                "responses": {
                  "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TrustedKey"}}}},
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"},
                  "409": {"$ref": "#/components/responses/Conflict"},
                  "413": {"$ref": "#/components/responses/TooLarge"}
                }
              }
            },
            "/api/v1/keys/{keyid}": {
              "delete": {
                "operationId": "revokeKey",
                "summary": "Revoke a trusted key",
                "tags": ["keys"],
                "description": "Access: admin (admin role).",
                "parameters": [{"$ref": "#/components/parameters/keyid"}],
                "responses": {
                  "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TrustedKey"}}}},
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"},
                  "409": {"$ref": "#/components/responses/Conflict"}
                }
              }
            },
            "/api/v1/users": {
              "get": {
                "operationId": "listUsers",
                "summary": "Users and their roles",
                "tags": [
                  "identity"
                ],
                "description": "Access: admin (admin role).",
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/UserList"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  }
                }
              },
              "post": {
                "operationId": "createUser",
                "summary": "Create a user",
                "tags": [
                  "identity"
                ],
                "description": "Access: admin (admin role).",
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/CreateUser"
                      }
                    }
                  }
                },
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/User"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "409": {
                    "$ref": "#/components/responses/Conflict"
                  },
                  "413": {
                    "$ref": "#/components/responses/TooLarge"
                  }
                }
              }
            },
            "/api/v1/users/{name}/roles": {
              "post": {
                "operationId": "setUserRoles",
                "summary": "Replace a user's roles",
                "tags": [
                  "identity"
                ],
                "description": "Access: admin (admin role).",
                "parameters": [
                  {
                    "name": "name",
                    "in": "path",
                    "required": true,
                    "schema": {
                      "type": "string",
                      "minLength": 1,
                      "maxLength": 300
                    }
                  }
                ],
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/SetRoles"
                      }
                    }
                  }
                },
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/User"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "413": {
                    "$ref": "#/components/responses/TooLarge"
                  }
                }
              }
            },
            "/api/v1/erasures": {
              "post": {
                "operationId": "erase",
                "summary": "Erase a prediction's raw input, or a run's sensitive values (keys destroyed; recorded as data.erase)",
                "tags": [
                  "privacy"
                ],
                "description": "Access: admin (admin role).",
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/EraseRequest"
                      }
                    }
                  }
                },
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Erasure"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "409": {
                    "$ref": "#/components/responses/Conflict"
                  }
                }
              }
            },
              "/api/v1/webhooks": {
                "get": {
                  "operationId": "listWebhooks",
                  "summary": "Webhook endpoints, active and removed",
                  "tags": [
                    "webhooks"
                  ],
                  "description": "Access: admin (admin role).",
                  "responses": {
                    "200": {
                      "description": "OK",
                      "content": {
                        "application/json": {
                          "schema": {
                            "$ref": "#/components/schemas/WebhookList"
                          }
                        }
                      }
                    },
                    "400": {
                      "$ref": "#/components/responses/BadRequest"
                    },
                    "401": {
                      "$ref": "#/components/responses/Unauthorized"
                    },
                    "403": {
                      "$ref": "#/components/responses/Forbidden"
                    },
                    "404": {
                      "$ref": "#/components/responses/NotFound"
                    }
                  }
                },
                "post": {
                  "operationId": "createWebhook",
                  "summary": "Register a webhook endpoint (recorded as webhook.create; the secret is shown once). SSRF-unsafe targets are refused naming url and recorded as webhook.refused",
                  "tags": [
                    "webhooks"
                  ],
                  "description": "Access: admin (admin role).",
                  "requestBody": {
                    "required": true,
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/WebhookCreateRequest"
                        }
                      }
                    }
                  },
                  "responses": {
                    "201": {
                      "description": "OK",
                      "content": {
                        "application/json": {
                          "schema": {
                            "$ref": "#/components/schemas/WebhookCreated"
                          }
                        }
                      }
                    },
                    "400": {
                      "$ref": "#/components/responses/BadRequest"
                    },
                    "401": {
                      "$ref": "#/components/responses/Unauthorized"
                    },
                    "403": {
                      "$ref": "#/components/responses/Forbidden"
                    },
                    "404": {
                      "$ref": "#/components/responses/NotFound"
                    }
                  }
                }
              },
              "/api/v1/webhooks/{webhook_id}": {
                "delete": {
                  "operationId": "removeWebhook",
                  "summary": "Remove a webhook endpoint (recorded as webhook.remove)",
                  "tags": [
                    "webhooks"
                  ],
                  "description": "Access: admin (admin role).",
                  "parameters": [
                    {
                      "name": "webhook_id",
                      "in": "path",
                      "required": true,
                      "schema": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": 300
                      }
                    }
                  ],
                  "responses": {
                    "200": {
                      "description": "OK",
                      "content": {
                        "application/json": {
                          "schema": {
                            "$ref": "#/components/schemas/Webhook"
                          }
                        }
                      }
                    },
                    "400": {
                      "$ref": "#/components/responses/BadRequest"
                    },
                    "401": {
                      "$ref": "#/components/responses/Unauthorized"
                    },
                    "403": {
                      "$ref": "#/components/responses/Forbidden"
                    },
                    "404": {
                      "$ref": "#/components/responses/NotFound"
                    }
                  }
                }
              },
              "/api/v1/webhooks/{webhook_id}/test": {
                "post": {
                  "operationId": "testWebhook",
                  "summary": "Send a signed webhook.ping now",
                  "tags": [
                    "webhooks"
                  ],
                  "description": "Access: admin (admin role).",
                  "parameters": [
                    {
                      "name": "webhook_id",
                      "in": "path",
                      "required": true,
                      "schema": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": 300
                      }
                    }
                  ],
                  "responses": {
                    "200": {
                      "description": "OK",
                      "content": {
                        "application/json": {
                          "schema": {
                            "$ref": "#/components/schemas/WebhookDelivery"
                          }
                        }
                      }
                    },
                    "400": {
                      "$ref": "#/components/responses/BadRequest"
                    },
                    "401": {
                      "$ref": "#/components/responses/Unauthorized"
                    },
                    "403": {
                      "$ref": "#/components/responses/Forbidden"
                    },
                    "404": {
                      "$ref": "#/components/responses/NotFound"
                    }
                  }
                }
              },
              "/api/v1/webhooks/{webhook_id}/deliveries": {
                "get": {
                  "operationId": "webhookDeliveries",
                  "summary": "An endpoint's deliveries, newest first, with every attempt",
                  "tags": [
                    "webhooks"
                  ],
                  "description": "Access: admin (admin role).",
                  "parameters": [
                    {
                      "name": "webhook_id",
                      "in": "path",
                      "required": true,
                      "schema": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": 300
                      }
                    },
                    {
                      "name": "limit",
                      "in": "query",
                      "required": false,
                      "schema": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": 1000
                      }
                    }
                  ],
                  "responses": {
                    "200": {
                      "description": "OK",
                      "content": {
                        "application/json": {
                          "schema": {
                            "$ref": "#/components/schemas/WebhookDeliveryList"
                          }
                        }
                      }
                    },
                    "400": {
                      "$ref": "#/components/responses/BadRequest"
                    },
                    "401": {
                      "$ref": "#/components/responses/Unauthorized"
                    },
                    "403": {
                      "$ref": "#/components/responses/Forbidden"
                    },
                    "404": {
                      "$ref": "#/components/responses/NotFound"
                    }
                  }
                }
              },
              "/api/v1/webhooks/allowances": {
                "get": {
                  "operationId": "listWebhookAllowances",
                  "summary": "Networks webhooks may reach although they are not public",
                  "tags": [
                    "webhooks"
                  ],
                  "description": "Access: admin (admin role).",
                  "responses": {
                    "200": {
                      "description": "OK",
                      "content": {
                        "application/json": {
                          "schema": {
                            "$ref": "#/components/schemas/WebhookAllowanceList"
                          }
                        }
                      }
                    },
                    "400": {
                      "$ref": "#/components/responses/BadRequest"
                    },
                    "401": {
                      "$ref": "#/components/responses/Unauthorized"
                    },
                    "403": {
                      "$ref": "#/components/responses/Forbidden"
                    },
                    "404": {
                      "$ref": "#/components/responses/NotFound"
                    }
                  }
                },
                "post": {
                  "operationId": "allowWebhookNetwork",
                  "summary": "Allow a private, loopback or link-local network (recorded as webhook.allow)",
                  "tags": [
                    "webhooks"
                  ],
                  "description": "Access: admin (admin role).",
                  "requestBody": {
                    "required": true,
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/WebhookAllowanceRequest"
                        }
                      }
                    }
                  },
                  "responses": {
                    "200": {
                      "description": "OK",
                      "content": {
                        "application/json": {
                          "schema": {
                            "$ref": "#/components/schemas/WebhookAllowance"
                          }
                        }
                      }
                    },
                    "400": {
                      "$ref": "#/components/responses/BadRequest"
                    },
                    "401": {
                      "$ref": "#/components/responses/Unauthorized"
                    },
                    "403": {
                      "$ref": "#/components/responses/Forbidden"
                    },
                    "404": {
                      "$ref": "#/components/responses/NotFound"
                    }
                  }
                }
              },
              "/api/v1/webhooks/allowances/withdraw": {
                "post": {
                  "operationId": "disallowWebhookNetwork",
                  "summary": "Withdraw an allowance (recorded as webhook.disallow)",
                  "tags": [
                    "webhooks"
                  ],
                  "description": "Access: admin (admin role).",
                  "requestBody": {
                    "required": true,
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/WebhookAllowanceRequest"
                        }
                      }
                    }
                  },
                  "responses": {
                    "200": {
                      "description": "OK",
                      "content": {
                        "application/json": {
                          "schema": {
                            "$ref": "#/components/schemas/WebhookAllowance"
                          }
                        }
                      }
                    },
                    "400": {
                      "$ref": "#/components/responses/BadRequest"
                    },
                    "401": {
                      "$ref": "#/components/responses/Unauthorized"
                    },
                    "403": {
                      "$ref": "#/components/responses/Forbidden"
                    },
                    "404": {
                      "$ref": "#/components/responses/NotFound"
                    }
                  }
                }
              },
            "/api/v1/holds": {
              "get": {
                "operationId": "listHolds",
                "summary": "Legal holds, active and released",
                "tags": [
                  "privacy"
                ],
                "description": "Access: read (any authenticated user).",
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/HoldList"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  }
                }
              },
              "post": {
                "operationId": "placeHold",
                "summary": "Place a legal hold on a model, a run or a dataset digest (recorded as hold.place)",
                "tags": [
                  "privacy"
                ],
                "description": "Access: admin (admin role).",
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/PlaceHoldRequest"
                      }
                    }
                  }
                },
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/LegalHold"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "409": {
                    "$ref": "#/components/responses/Conflict"
                  }
                }
              }
            },
            "/api/v1/holds/{hold_id}/release": {
              "post": {
                "operationId": "releaseHold",
                "summary": "Release a legal hold (recorded as hold.release)",
                "tags": [
                  "privacy"
                ],
                "description": "Access: admin (admin role).",
                "parameters": [
                  {
                    "name": "hold_id",
                    "in": "path",
                    "required": true,
                    "schema": {
                      "type": "string",
                      "minLength": 1,
                      "maxLength": 300
                    }
                  }
                ],
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/ReasonRequest"
                      }
                    }
                  }
                },
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/LegalHold"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "409": {
                    "$ref": "#/components/responses/Conflict"
                  }
                }
              }
            },
            "/api/v1/retention": {
              "get": {
                "operationId": "listRetention",
                "summary": "Retention settings in force",
                "tags": [
                  "privacy"
                ],
                "description": "Access: read (any authenticated user).",
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/RetentionSettings"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  }
                }
              }
            },
            "/api/v1/retention/{kind}": {
              "put": {
                "operationId": "setRetention",
                "summary": "Set how many days a kind is kept (recorded as retention.set)",
                "tags": [
                  "privacy"
                ],
                "description": "Access: admin (admin role).",
                "parameters": [
                  {
                    "name": "kind",
                    "in": "path",
                    "required": true,
                    "schema": {
                      "type": "string",
                      "enum": [
                        "raw_inputs",
                        "prediction_records",
                        "served_histograms",
                        "deleted_run_artifacts"
                      ]
                    }
                  }
                ],
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/RetentionDays"
                      }
                    }
                  }
                },
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/RetentionSetting"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "409": {
                    "$ref": "#/components/responses/Conflict"
                  }
                }
              }
            },
            "/api/v1/retention/apply": {
              "post": {
                "operationId": "applyRetention",
                "summary": "Apply every retention setting now (recorded as retention.apply: one event per 500 raw inputs, 200 group commits or 500 blobs)",
                "tags": [
                  "privacy"
                ],
                "description": "Access: admin (admin role).",
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/RetentionApply"
                      }
                    }
                  }
                },
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/RetentionRun"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "409": {
                    "$ref": "#/components/responses/Conflict"
                  }
                }
              }
            },
            "/api/v1/tokens": {
              "get": {
                "operationId": "listTokens",
                "summary": "Tokens (ids and state, never secrets)",
                "tags": [
                  "identity"
                ],
                "description": "Access: admin (admin role).",
                "parameters": [
                  {
                    "name": "user",
                    "in": "query",
                    "required": false,
                    "schema": {
                      "type": "string"
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/TokenList"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  }
                }
              },
              "post": {
                "operationId": "createToken",
                "summary": "Create a token for a user; the secret is shown once",
                "tags": [
                  "identity"
                ],
                "description": "Access: admin (admin role).",
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/CreateToken"
                      }
                    }
                  }
                },
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/NewToken"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "413": {
                    "$ref": "#/components/responses/TooLarge"
                  }
                }
              }
            },
            "/api/v1/tokens/{token_id}": {
              "delete": {
                "operationId": "revokeToken",
                "summary": "Revoke a token",
                "tags": [
                  "identity"
                ],
                "description": "Access: admin (admin role).",
                "parameters": [
                  {
                    "name": "token_id",
                    "in": "path",
                    "required": true,
                    "schema": {
                      "type": "string",
                      "minLength": 1,
                      "maxLength": 300
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Empty"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  }
                }
              }
            },
            "/api/v1/models/{name}/versions/{version}/files/{digest}": {
              "get": {
                "operationId": "getModelFile",
                "summary": "One file of a version, by its manifest digest",
                "tags": [
                  "models"
                ],
                "description": "Access: read (any authenticated user).",
                "parameters": [
                  {
                    "$ref": "#/components/parameters/model_name"
                  },
                  {
                    "$ref": "#/components/parameters/version"
                  },
                  {
                    "name": "digest",
                    "in": "path",
                    "required": true,
                    "schema": {
                      "type": "string",
                      "pattern": "^sha256:[0-9a-f]{64}$"
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "description": "The file's bytes",
                    "content": {
                      "application/octet-stream": {
                        "schema": {
                          "type": "string",
                          "format": "binary"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  }
                }
              }
            },
            "/api/v1/models/{name}/drift": {
              "post": {
                "operationId": "checkDrift",
                "summary": "Population stability of served inputs against the training profile; recorded",
                "tags": [
                  "models"
                ],
                "description": "Access: write (contributor or admin).",
                "parameters": [
                  {
                    "$ref": "#/components/parameters/model_name"
                  }
                ],
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/DriftRequest"
                      }
                    }
                  }
                },
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/DriftReport"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "413": {
                    "$ref": "#/components/responses/TooLarge"
                  }
                }
              }
            },
            "/api/v1/models/{name}/report": {
              "get": {
                "operationId": "auditReport",
                "summary": "One model version's audit report: identity, lineage, evidence, gate, approvals, attestations, history, deployments, drift, integrity, model card",
                "tags": [
                  "models"
                ],
                "description": "Access: read (any authenticated user); verify=true runs the full ledger verification first and needs admin. Schema: docs/report.md.",
                "parameters": [
                  {
                    "$ref": "#/components/parameters/model_name"
                  },
                  {
                    "name": "ref",
                    "in": "query",
                    "required": true,
                    "description": "An alias, a stage spelled as the stage (Production), or a version number.",
                    "schema": {
                      "type": "string",
                      "minLength": 1,
                      "maxLength": 300
                    }
                  },
                  {
                    "name": "target",
                    "in": "query",
                    "required": false,
                    "description": "Comma-separated gate targets (@alias or a stage), at most 10; default: the reference's own.",
                    "schema": {
                      "type": "string"
                    }
                  },
                  {
                    "name": "window_ms",
                    "in": "query",
                    "required": false,
                    "description": "Width of a prediction-count window (default one day).",
                    "schema": {
                      "type": "integer",
                      "minimum": 60000,
                      "maximum": 31622400000
                    }
                  },
                  {
                    "name": "verify",
                    "in": "query",
                    "required": false,
                    "schema": {
                      "type": "string",
                      "enum": [
                        "true",
                        "false"
                      ]
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/AuditReport"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  }
                }
              }
            },
            "/api/v1/lineage/models/{name}": {
              "get": {
                "operationId": "modelLineage",
                "summary": "What stands behind NAME@ref, link by link with inclusion proofs",
                "tags": [
                  "lineage"
                ],
                "description": "Access: read (any authenticated user).",
                "parameters": [
                  {
                    "$ref": "#/components/parameters/model_name"
                  },
                  {
                    "name": "ref",
                    "in": "query",
                    "required": true,
                    "schema": {
                      "type": "string",
                      "minLength": 1
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/ModelLineage"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  }
                }
              }
            },
            "/api/v1/lineage/predictions/{prediction_id}": {
              "get": {
                "operationId": "predictionTrace",
                "summary": "A prediction's trace to its model, run, data and commit",
                "tags": [
                  "lineage"
                ],
                "description": "Access: read (any authenticated user).",
                "parameters": [
                  {
                    "name": "prediction_id",
                    "in": "path",
                    "required": true,
                    "schema": {
                      "type": "string",
                      "minLength": 1,
                      "maxLength": 300
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/PredictionTrace"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  }
                }
              }
            },
            "/api/v1/lineage": {
              "get": {
                "operationId": "lineageGraph",
                "summary": "The job/dataset lineage graph around a node, in Marquez's shape (OpenLineage's and ModelTrail's own)",
                "tags": [
                  "lineage"
                ],
                "description": "Access: read (any authenticated user). nodeId is dataset:<namespace>:<name> or job:<namespace>:<name>.",
                "parameters": [
                  {
                    "name": "nodeId",
                    "in": "query",
                    "required": true,
                    "schema": {
                      "type": "string",
                      "minLength": 1,
                      "maxLength": 4200
                    }
                  },
                  {
                    "name": "depth",
                    "in": "query",
                    "required": false,
                    "schema": {
                      "type": "integer",
                      "minimum": 0,
                      "maximum": 100
                    }
                  }
                ],
                "responses": {
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "type": "object",
                          "required": [
                            "graph"
                          ],
                          "properties": {
                            "graph": {
                              "type": "array",
                              "items": {
                                "type": "object",
                                "required": [
                                  "id",
                                  "type",
                                  "data",
                                  "inEdges",
                                  "outEdges"
                                ],
                                "properties": {
                                  "id": {
                                    "type": "string"
                                  },
                                  "type": {
                                    "type": "string",
                                    "enum": [
                                      "DATASET",
                                      "JOB"
                                    ]
                                  },
                                  "data": {
                                    "type": "object"
                                  },
                                  "inEdges": {
                                    "type": "array",
                                    "items": {
                                      "type": "object",
                                      "properties": {
                                        "origin": {
                                          "type": "string"
                                        },
                                        "destination": {
                                          "type": "string"
                                        }
                                      }
                                    }
                                  },
                                  "outEdges": {
                                    "type": "array",
                                    "items": {
                                      "type": "object",
                                      "properties": {
                                        "origin": {
                                          "type": "string"
                                        },
                                        "destination": {
                                          "type": "string"
                                        }
                                      }
                                    }
                                  }
                                }
                              }
                            }
                          }
                        }
                      }
                    }
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  }
                }
              },
              "post": {
                "operationId": "ingestOpenLineage",
                "summary": "Accept one OpenLineage event (RunEvent, JobEvent or DatasetEvent, spec 2-0-2); recorded as openlineage.ingest",
                "tags": [
                  "lineage"
                ],
                "description": "Access: write. The body may be gzip (Content-Encoding: gzip). The original bytes are kept as a blob; the same bytes again are answered with the first acceptance.",
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "type": "object",
                        "required": [
                          "eventTime",
                          "producer",
                          "schemaURL"
                        ],
                        "properties": {
                          "eventTime": {
                            "type": "string",
                            "format": "date-time"
                          },
                          "producer": {
                            "type": "string",
                            "format": "uri"
                          },
                          "schemaURL": {
                            "type": "string",
                            "format": "uri"
                          },
                          "eventType": {
                            "type": "string",
                            "enum": [
                              "START",
                              "RUNNING",
                              "COMPLETE",
                              "ABORT",
                              "FAIL",
                              "OTHER"
                            ]
                          },
                          "run": {
                            "type": "object",
                            "required": [
                              "runId"
                            ],
                            "properties": {
                              "runId": {
                                "type": "string",
                                "format": "uuid"
                              },
                              "facets": {
                                "type": "object"
                              }
                            }
                          },
                          "job": {
                            "type": "object",
                            "required": [
                              "namespace",
                              "name"
                            ],
                            "properties": {
                              "namespace": {
                                "type": "string"
                              },
                              "name": {
                                "type": "string"
                              },
                              "facets": {
                                "type": "object"
                              }
                            }
                          },
                          "inputs": {
                            "type": "array",
                            "items": {
                              "type": "object",
                              "required": [
                                "namespace",
                                "name"
                              ],
                              "properties": {
                                "namespace": {
                                  "type": "string"
                                },
                                "name": {
                                  "type": "string"
                                },
                                "facets": {
                                  "type": "object"
                                }
                              }
                            }
                          },
                          "outputs": {
                            "type": "array",
                            "items": {
                              "type": "object",
                              "required": [
                                "namespace",
                                "name"
                              ],
                              "properties": {
                                "namespace": {
                                  "type": "string"
                                },
                                "name": {
                                  "type": "string"
                                },
                                "facets": {
                                  "type": "object"
                                }
                              }
                            }
                          },
                          "dataset": {
                            "type": "object"
                          }
                        }
                      }
                    }
                  }
                },
                "responses": {
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "201": {
                    "description": "Accepted and recorded",
                    "content": {
                      "application/json": {
                        "schema": {
                          "type": "object",
                          "required": [
                            "kind",
                            "body_digest",
                            "recorded"
                          ],
                          "properties": {
                            "kind": {
                              "type": "string"
                            },
                            "run_id": {
                              "type": "string"
                            },
                            "event_index": {
                              "type": "integer",
                              "format": "int64"
                            },
                            "body_digest": {
                              "type": "string"
                            },
                            "recorded": {
                              "type": "boolean"
                            }
                          }
                        }
                      }
                    }
                  },
                  "413": {
                    "$ref": "#/components/responses/TooLarge"
                  }
                }
              }
            },
            "/api/v1/lineage/receivers": {
              "get": {
                "operationId": "openLineageReceivers",
                "summary": "Where delivery of this server's runs to each OpenLineage receiver stands (trail server --openlineage-url)",
                "tags": [
                  "lineage"
                ],
                "description": "Access: admin.",
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "type": "object",
                          "required": [
                            "receivers"
                          ],
                          "properties": {
                            "receivers": {
                              "type": "array",
                              "items": {
                                "type": "object",
                                "required": [
                                  "receiver",
                                  "next_index",
                                  "delivered",
                                  "failures",
                                  "next_attempt"
                                ],
                                "properties": {
                                  "receiver": {
                                    "type": "string"
                                  },
                                  "next_index": {
                                    "type": "integer",
                                    "format": "int64"
                                  },
                                  "delivered": {
                                    "type": "integer",
                                    "format": "int64"
                                  },
                                  "failures": {
                                    "type": "integer",
                                    "format": "int64"
                                  },
                                  "last_error": {
                                    "type": "string"
                                  },
                                  "last_attempt": {
                                    "type": "integer",
                                    "format": "int64"
                                  },
                                  "next_attempt": {
                                    "type": "integer",
                                    "format": "int64"
                                  }
                                }
                              }
                            }
                          }
                        }
                      }
                    }
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  }
                }
              }
            },
            "/api/v1/lineage/datasets/{digest}": {
              "get": {
                "operationId": "datasetImpact",
                "summary": "What depends on a dataset digest",
                "tags": [
                  "lineage"
                ],
                "description": "Access: read (any authenticated user).",
                "parameters": [
                  {
                    "name": "digest",
                    "in": "path",
                    "required": true,
                    "schema": {
                      "type": "string",
                      "minLength": 1,
                      "maxLength": 300
                    }
                  },
                  {
                    "name": "window_ms",
                    "in": "query",
                    "required": false,
                    "schema": {
                      "type": "integer",
                      "format": "int64",
                      "minimum": 1
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/DatasetImpact"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  }
                }
              }
            },
            "/api/v1/predictions/{prediction_id}": {
              "get": {
                "operationId": "getPrediction",
                "summary": "A logged prediction record",
                "tags": [
                  "lineage"
                ],
                "description": "Access: read (any authenticated user).",
                "parameters": [
                  {
                    "name": "prediction_id",
                    "in": "path",
                    "required": true,
                    "schema": {
                      "type": "string",
                      "minLength": 1,
                      "maxLength": 300
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/PredictionRecord"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  }
                }
              }
            },
            "/api/v1/predictions/{prediction_id}/rescore": {
              "post": {
                "operationId": "rescoreWithStoredInput",
                "summary": "Re-score a prediction with its stored raw input on the server (prediction.reproduce); the input is not returned",
                "tags": [
                  "lineage"
                ],
                "description": "Access: write (contributor or admin).",
                "parameters": [
                  {
                    "name": "prediction_id",
                    "in": "path",
                    "required": true,
                    "schema": {
                      "type": "string",
                      "minLength": 1,
                      "maxLength": 300
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/PredictionCheck"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  }
                }
              }
            },
            "/api/v1/predictions/{prediction_id}/reproductions": {
              "post": {
                "operationId": "recordPredictionCheck",
                "summary": "Record a re-scoring done by a client (prediction.reproduce)",
                "tags": [
                  "lineage"
                ],
                "description": "Access: write (contributor or admin).",
                "parameters": [
                  {
                    "name": "prediction_id",
                    "in": "path",
                    "required": true,
                    "schema": {
                      "type": "string",
                      "minLength": 1,
                      "maxLength": 300
                    }
                  }
                ],
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/PredictionCheck"
                      }
                    }
                  }
                },
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Recorded"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "413": {
                    "$ref": "#/components/responses/TooLarge"
                  }
                }
              }
            },
            "/api/v1/runs/{run_id}/reproductions": {
              "post": {
                "operationId": "recordReproduction",
                "summary": "Record a rebuild's verdict done by a client (run.reproduce)",
                "tags": [
                  "runs"
                ],
                "description": "Access: write (contributor or admin).",
                "parameters": [
                  {
                    "$ref": "#/components/parameters/run_id"
                  }
                ],
                "requestBody": {
                  "required": true,
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/ReproductionReport"
                      }
                    }
                  }
                },
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Recorded"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  },
                  "413": {
                    "$ref": "#/components/responses/TooLarge"
                  }
                }
              }
            },
            "/api/v1/ledger/verify": {
              "post": {
                "operationId": "verifyLedger",
                "summary": "Full verify on the server's data (rows, blobs, tree); recorded",
                "tags": [
                  "ledger"
                ],
                "description": "Access: admin (admin role).",
                "responses": {
                  "200": {
                    "description": "OK",
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/VerificationReport"
                        }
                      }
                    }
                  },
                  "400": {
                    "$ref": "#/components/responses/BadRequest"
                  },
                  "401": {
                    "$ref": "#/components/responses/Unauthorized"
                  },
                  "403": {
                    "$ref": "#/components/responses/Forbidden"
                  },
                  "404": {
                    "$ref": "#/components/responses/NotFound"
                  }
                }
              }
            }
          },
          "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "description": "A ModelTrail API token."}},
            "schemas": {
              "EraseRequest": {
                "type": "object",
                "required": [
                  "reason"
                ],
                "properties": {
                  "prediction_id": {
                    "type": "string",
                    "maxLength": 300
                  },
                  "run_id": {
                    "type": "string",
                    "maxLength": 64
                  },
                  "keys": {
                    "type": "array",
                    "maxItems": 100,
                    "items": {
                      "type": "string",
                      "maxLength": 250
                    }
                  },
                  "reason": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 2000
                  }
                },
                "description": "Either prediction_id, or run_id with keys."
              },
              "Erasure": {
                "type": "object",
                "required": [
                  "subject",
                  "keys_destroyed",
                  "digests"
                ],
                "properties": {
                  "subject": {
                    "type": "string"
                  },
                  "keys_destroyed": {
                    "type": "integer"
                  },
                  "digests": {
                    "type": "array",
                    "items": {
                      "type": "string"
                    }
                  },
                  "event_index": {
                    "type": "integer",
                    "format": "int64"
                  }
                }
              },
              "PlaceHoldRequest": {
                "type": "object",
                "required": [
                  "subject_type",
                  "subject_id",
                  "reason"
                ],
                "properties": {
                  "subject_type": {
                    "type": "string",
                    "enum": [
                      "model",
                      "run",
                      "dataset"
                    ]
                  },
                  "subject_id": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 300
                  },
                  "reason": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 2000
                  }
                }
              },
              "ReasonRequest": {
                "type": "object",
                "required": [
                  "reason"
                ],
                "properties": {
                  "reason": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 2000
                  }
                }
              },
                "Webhook": {
                  "type": "object",
                  "required": [
                    "webhook_id",
                    "url",
                    "events",
                    "description",
                    "created_by",
                    "creation_time",
                    "event_index"
                  ],
                  "properties": {
                    "webhook_id": {
                      "type": "string"
                    },
                    "url": {
                      "type": "string"
                    },
                    "events": {
                      "type": "array",
                      "items": {
                        "type": "string",
                        "enum": [
                          "registered_model.created",
                          "model_version.created",
                          "model_version_alias.created",
                          "model_version_alias.deleted",
                          "model_version_stage.changed",
                          "promotion.refused",
                          "approval.created",
                          "attestation.created",
                          "drift.alerted"
                        ]
                      }
                    },
                    "description": {
                      "type": "string"
                    },
                    "created_by": {
                      "type": "string"
                    },
                    "creation_time": {
                      "type": "integer",
                      "format": "int64"
                    },
                    "removed_time": {
                      "type": "integer",
                      "format": "int64",
                      "nullable": true
                    },
                    "event_index": {
                      "type": "integer",
                      "format": "int64"
                    }
                  }
                },
                "WebhookList": {
                  "type": "object",
                  "required": [
                    "webhooks"
                  ],
                  "properties": {
                    "webhooks": {
                      "type": "array",
                      "items": {
                        "$ref": "#/components/schemas/Webhook"
                      }
                    }
                  }
                },
                "WebhookCreateRequest": {
                  "type": "object",
                  "required": [
                    "url",
                    "events"
                  ],
                  "properties": {
                    "url": {
                      "type": "string",
                      "maxLength": 2048
                    },
                    "events": {
                      "type": "array",
                      "minItems": 1,
                      "maxItems": 50,
                      "items": {
                        "type": "string",
                        "enum": [
                          "registered_model.created",
                          "model_version.created",
                          "model_version_alias.created",
                          "model_version_alias.deleted",
                          "model_version_stage.changed",
                          "promotion.refused",
                          "approval.created",
                          "attestation.created",
                          "drift.alerted"
                        ]
                      }
                    },
                    "description": {
                      "type": "string",
                      "maxLength": 1000
                    },
                    "secret": {
                      "type": "string",
                      "minLength": 16,
                      "maxLength": 256
                    }
                  }
                },
                "WebhookCreated": {
                  "type": "object",
                  "required": [
                    "webhook",
                    "secret"
                  ],
                  "properties": {
                    "webhook": {
                      "$ref": "#/components/schemas/Webhook"
                    },
                    "secret": {
                      "type": "string"
                    }
                  }
                },
                "WebhookAttempt": {
                  "type": "object",
                  "required": [
                    "attempt",
                    "time",
                    "duration_ms"
                  ],
                  "properties": {
                    "attempt": {
                      "type": "integer",
                      "format": "int64"
                    },
                    "time": {
                      "type": "integer",
                      "format": "int64"
                    },
                    "status_code": {
                      "type": "integer",
                      "format": "int64",
                      "nullable": true
                    },
                    "error": {
                      "type": "string",
                      "nullable": true
                    },
                    "duration_ms": {
                      "type": "integer",
                      "format": "int64"
                    }
                  }
                },
                "WebhookDelivery": {
                  "type": "object",
                  "required": [
                    "delivery_id",
                    "webhook_id",
                    "event",
                    "status",
                    "attempts",
                    "next_attempt_time",
                    "creation_time",
                    "history"
                  ],
                  "properties": {
                    "delivery_id": {
                      "type": "string"
                    },
                    "webhook_id": {
                      "type": "string"
                    },
                    "event": {
                      "type": "string"
                    },
                    "event_index": {
                      "type": "integer",
                      "format": "int64",
                      "nullable": true
                    },
                    "model_name": {
                      "type": "string",
                      "nullable": true
                    },
                    "model_version": {
                      "type": "integer",
                      "format": "int64",
                      "nullable": true
                    },
                    "status": {
                      "type": "string",
                      "enum": [
                        "pending",
                        "delivered",
                        "failed",
                        "cancelled"
                      ]
                    },
                    "attempts": {
                      "type": "integer",
                      "format": "int64"
                    },
                    "next_attempt_time": {
                      "type": "integer",
                      "format": "int64"
                    },
                    "creation_time": {
                      "type": "integer",
                      "format": "int64"
                    },
                    "delivered_time": {
                      "type": "integer",
                      "format": "int64",
                      "nullable": true
                    },
                    "last_status_code": {
                      "type": "integer",
                      "format": "int64",
                      "nullable": true
                    },
                    "last_error": {
                      "type": "string",
                      "nullable": true
                    },
                    "history": {
                      "type": "array",
                      "items": {
                        "$ref": "#/components/schemas/WebhookAttempt"
                      }
                    }
                  }
                },
                "WebhookDeliveryList": {
                  "type": "object",
                  "required": [
                    "deliveries"
                  ],
                  "properties": {
                    "deliveries": {
                      "type": "array",
                      "items": {
                        "$ref": "#/components/schemas/WebhookDelivery"
                      }
                    }
                  }
                },
                "WebhookAllowanceRequest": {
                  "type": "object",
                  "required": [
                    "cidr",
                    "reason"
                  ],
                  "properties": {
                    "cidr": {
                      "type": "string",
                      "maxLength": 64
                    },
                    "reason": {
                      "type": "string",
                      "minLength": 1,
                      "maxLength": 2000
                    }
                  }
                },
                "WebhookAllowance": {
                  "type": "object",
                  "required": [
                    "cidr",
                    "reason",
                    "actor",
                    "time",
                    "event_index"
                  ],
                  "properties": {
                    "cidr": {
                      "type": "string"
                    },
                    "reason": {
                      "type": "string"
                    },
                    "actor": {
                      "type": "string"
                    },
                    "time": {
                      "type": "integer",
                      "format": "int64"
                    },
                    "removed_time": {
                      "type": "integer",
                      "format": "int64",
                      "nullable": true
                    },
                    "event_index": {
                      "type": "integer",
                      "format": "int64"
                    }
                  }
                },
                "WebhookAllowanceList": {
                  "type": "object",
                  "required": [
                    "allowances"
                  ],
                  "properties": {
                    "allowances": {
                      "type": "array",
                      "items": {
                        "$ref": "#/components/schemas/WebhookAllowance"
                      }
                    }
                  }
                },
              "LegalHold": {
                "type": "object",
                "required": [
                  "hold_id",
                  "subject_type",
                  "subject_id",
                  "reason",
                  "actor",
                  "created_time",
                  "event_index"
                ],
                "properties": {
                  "hold_id": {
                    "type": "string"
                  },
                  "subject_type": {
                    "type": "string",
                    "enum": [
                      "model",
                      "run",
                      "dataset"
                    ]
                  },
                  "subject_id": {
                    "type": "string"
                  },
                  "reason": {
                    "type": "string"
                  },
                  "actor": {
                    "type": "string"
                  },
                  "created_time": {
                    "type": "integer",
                    "format": "int64"
                  },
                  "released_time": {
                    "type": "integer",
                    "format": "int64"
                  },
                  "release_reason": {
                    "type": "string"
                  },
                  "event_index": {
                    "type": "integer",
                    "format": "int64"
                  }
                }
              },
              "HoldList": {
                "type": "object",
                "required": [
                  "holds"
                ],
                "properties": {
                  "holds": {
                    "type": "array",
                    "items": {
                      "$ref": "#/components/schemas/LegalHold"
                    }
                  }
                }
              },
              "RetentionSetting": {
                "type": "object",
                "required": [
                  "kind",
                  "days",
                  "time",
                  "actor",
                  "event_index"
                ],
                "properties": {
                  "kind": {
                    "type": "string",
                    "enum": [
                      "raw_inputs",
                      "prediction_records",
                      "served_histograms",
                      "deleted_run_artifacts"
                    ]
                  },
                  "days": {
                    "type": "integer",
                    "format": "int64"
                  },
                  "time": {
                    "type": "integer",
                    "format": "int64"
                  },
                  "actor": {
                    "type": "string"
                  },
                  "event_index": {
                    "type": "integer",
                    "format": "int64"
                  }
                }
              },
              "RetentionSettings": {
                "type": "object",
                "required": [
                  "settings"
                ],
                "properties": {
                  "settings": {
                    "type": "array",
                    "items": {
                      "$ref": "#/components/schemas/RetentionSetting"
                    }
                  }
                }
              },
              "RetentionDays": {
                "type": "object",
                "required": [
                  "days"
                ],
                "properties": {
                  "days": {
                    "type": "integer",
                    "format": "int64",
                    "minimum": 1,
                    "maximum": 36500
                  }
                }
              },
              "RetentionApply": {
                "type": "object",
                "required": [
                  "dry_run"
                ],
                "properties": {
                  "dry_run": {
                    "type": "boolean"
                  }
                }
              },
              "RetentionRun": {
                "type": "object",
                "required": [
                  "applied",
                  "dry_run"
                ],
                "properties": {
                  "dry_run": {
                    "type": "boolean"
                  },
                  "applied": {
                    "type": "array",
                    "items": {
                      "type": "object",
                      "properties": {
                        "kind": {
                          "type": "string"
                        },
                        "days": {
                          "type": "integer",
                          "format": "int64"
                        },
                        "cutoff": {
                          "type": "integer",
                          "format": "int64"
                        },
                        "removed": {
                          "type": "integer"
                        },
                        "held": {
                          "type": "array",
                          "items": {
                            "type": "string"
                          }
                        },
                        "event_indexes": {
                          "type": "array",
                          "items": {
                            "type": "integer",
                            "format": "int64"
                          }
                        }
                      }
                    }
                  }
                }
              },
              "User": {
                "type": "object",
                "properties": {
                  "name": {
                    "type": "string"
                  },
                  "roles": {
                    "type": "array",
                    "items": {
                      "type": "string",
                      "enum": [
                        "viewer",
                        "auditor",
                        "contributor",
                        "approver",
                        "admin"
                      ]
                    }
                  },
                  "disabled": {
                    "type": "boolean"
                  }
                },
                "required": [
                  "name",
                  "roles"
                ]
              },
              "UserList": {
                "type": "object",
                "properties": {
                  "users": {
                    "type": "array",
                    "items": {
                      "$ref": "#/components/schemas/User"
                    }
                  }
                },
                "required": [
                  "users"
                ]
              },
              "CreateUser": {
                "type": "object",
                "properties": {
                  "name": {
                    "type": "string"
                  },
                  "roles": {
                    "type": "array",
                    "items": {
                      "type": "string",
                      "enum": [
                        "viewer",
                        "auditor",
                        "contributor",
                        "approver",
                        "admin"
                      ]
                    }
                  }
                },
                "required": [
                  "name",
                  "roles"
                ]
              },
              "SetRoles": {
                "type": "object",
                "properties": {
                  "roles": {
                    "type": "array",
                    "items": {
                      "type": "string",
                      "enum": [
                        "viewer",
                        "auditor",
                        "contributor",
                        "approver",
                        "admin"
                      ]
                    }
                  }
                },
                "required": [
                  "roles"
                ]
              },
              "TokenInfo": {
                "type": "object",
                "description": "A token's id and state (never its secret)."
              },
              "TokenList": {
                "type": "object",
                "properties": {
                  "tokens": {
                    "type": "array",
                    "items": {
                      "$ref": "#/components/schemas/TokenInfo"
                    }
                  }
                },
                "required": [
                  "tokens"
                ]
              },
              "CreateToken": {
                "type": "object",
                "properties": {
                  "user": {
                    "type": "string"
                  },
                  "expires_in_seconds": {
                    "type": "integer",
                    "format": "int64",
                    "minimum": 1
                  }
                },
                "required": [
                  "user"
                ]
              },
              "NewToken": {
                "type": "object",
                "properties": {
                  "token": {
                    "type": "string"
                  },
                  "token_info": {
                    "$ref": "#/components/schemas/TokenInfo"
                  }
                },
                "required": [
                  "token",
                  "token_info"
                ]
              },
              "StoredPolicy": {
                "type": "object",
                "properties": {
                  "policy_version": {
                    "type": "integer",
                    "format": "int64"
                  },
                  "policy": {
                    "$ref": "#/components/schemas/PromotionPolicy"
                  }
                },
                "description": "Empty when the target is unprotected."
              },
              "DriftRequest": {
                "type": "object",
                "properties": {
                  "reference": {
                    "type": "string"
                  },
                  "window_ms": {
                    "type": "integer",
                    "format": "int64",
                    "minimum": 1
                  },
                  "min_rows": {
                    "type": "integer",
                    "minimum": 1
                  }
                },
                "required": [
                  "reference",
                  "window_ms"
                ]
              },
              "DriftReport": {
                "type": "object",
                "description": "PSI per feature, level, and the drift.check event."
              },
              "AuditReport": {
                "type": "object",
                "description": "The audit report, schema_version 1 (docs/report.md).",
                "required": [
                  "schema_version",
                  "generated_at",
                  "generated_by",
                  "subject",
                  "identity",
                  "lineage",
                  "policies",
                  "approvals",
                  "attestations",
                  "promotions",
                  "deployments",
                  "drift",
                  "integrity"
                ],
                "properties": {
                  "schema_version": {
                    "type": "integer"
                  },
                  "generated_at": {
                    "type": "integer"
                  },
                  "generated_by": {
                    "type": "object"
                  },
                  "subject": {
                    "type": "object"
                  },
                  "identity": {
                    "type": "object"
                  },
                  "lineage": {
                    "type": "object"
                  },
                  "training": {
                    "type": "object"
                  },
                  "policies": {
                    "type": "array",
                    "items": {
                      "type": "object"
                    }
                  },
                  "approvals": {
                    "type": "object"
                  },
                  "attestations": {
                    "type": "object"
                  },
                  "promotions": {
                    "type": "object"
                  },
                  "deployments": {
                    "type": "object"
                  },
                  "drift": {
                    "type": "object"
                  },
                  "integrity": {
                    "type": "object"
                  },
                  "model_card": {
                    "type": "object"
                  }
                }
              },
              "ModelLineage": {
                "type": "object",
                "description": "Name, version, root digest, run, data, commit, environment and links with inclusion proofs."
              },
              "PredictionTrace": {
                "type": "object",
                "description": "The prediction record, its group commit and Merkle path, the deployment and the model's lineage."
              },
              "DatasetImpact": {
                "type": "object",
                "description": "Runs, versions, deployments and prediction counts per window that depend on a dataset."
              },
              "PredictionRecord": {
                "type": "object",
                "description": "A logged prediction."
              },
              "PredictionCheck": {
                "type": "object",
                "properties": {
                  "prediction_id": {
                    "type": "string"
                  },
                  "outcome": {
                    "type": "string",
                    "enum": [
                      "REPRODUCED",
                      "DIFFERS"
                    ]
                  },
                  "differences": {
                    "type": "array",
                    "items": {
                      "type": "string"
                    }
                  },
                  "probability": {
                    "type": "number"
                  },
                  "prediction": {
                    "type": "integer"
                  }
                },
                "required": [
                  "prediction_id",
                  "outcome",
                  "differences"
                ]
              },
              "ReproductionReport": {
                "type": "object",
                "properties": {
                  "run_id": {
                    "type": "string"
                  },
                  "outcome": {
                    "type": "string",
                    "enum": [
                      "REPRODUCED",
                      "DIFFERS"
                    ]
                  },
                  "differences": {
                    "type": "array",
                    "items": {
                      "type": "string"
                    }
                  },
                  "environment_differences": {
                    "type": "array",
                    "items": {
                      "type": "string"
                    }
                  },
                  "rebuild_run_id": {
                    "type": "string"
                  },
                  "expected_model_sha256": {
                    "type": "string"
                  },
                  "actual_model_sha256": {
                    "type": "string"
                  },
                  "data_sha256": {
                    "type": "string"
                  }
                },
                "required": [
                  "run_id",
                  "outcome",
                  "differences",
                  "expected_model_sha256",
                  "data_sha256"
                ]
              },
              "Recorded": {
                "type": "object",
                "properties": {
                  "event_index": {
                    "type": "integer",
                    "format": "int64"
                  }
                }
              },
              "VerificationReport": {
                "type": "object",
                "properties": {
                  "ok": {
                    "type": "boolean"
                  },
                  "events": {
                    "type": "integer"
                  },
                  "findings": {
                    "type": "array",
                    "items": {
                      "type": "object"
                    }
                  }
                },
                "required": [
                  "ok",
                  "events",
                  "findings"
                ]
              },
              "Error": {
                "type": "object",
                "properties": {
                  "error": {
                    "type": "object",
                    "properties": {
                      "code": {
                        "type": "string",
                        "enum": [
                          "INVALID_PARAMETER_VALUE",
                          "MALFORMED_REQUEST",
                          "RESOURCE_DOES_NOT_EXIST",
                          "RESOURCE_ALREADY_EXISTS",
                          "RESOURCE_CONFLICT",
                          "INVALID_STATE",
                          "REQUEST_TOO_LARGE",
                          "UNAUTHENTICATED",
                          "PERMISSION_DENIED",
                          "ENDPOINT_NOT_FOUND",
                          "NOT_IMPLEMENTED",
                          "DATA_LOSS",
                          "INTERNAL_ERROR",
                          "TEMPORARILY_UNAVAILABLE"
                        ]
                      },
                      "message": {"type": "string"},
                      "field": {"type": "string", "description": "The offending input field, when there is one."}
                    },
                    "required": ["code"]
                  }
                },
                "required": ["error"],
                "description": "The error envelope of every /api/v1 error response."
              },
              "Empty": {"type": "object", "properties": {}, "description": "An empty object: the request succeeded."},
              "Health": {
                "type": "object",
                "properties": {"status": {"type": "string"}, "version": {"type": "string"}},
                "required": ["status", "version"]
              },
              "Actor": {
                "type": "object",
                "properties": {"type": {"type": "string", "enum": ["user", "service"]}, "id": {"type": "string"}},
                "required": ["type", "id"]
              },
              "Tag": {
                "type": "object",
                "properties": {"key": {"type": "string"}, "value": {"type": "string"}},
                "required": ["key", "value"]
              },
              "Param": {
                "type": "object",
                "properties": {"key": {"type": "string"}, "value": {"type": "string"}},
                "required": ["key", "value"]
              },
              "MetricValue": {
                "description": "A number, or one of the strings NaN, Infinity, -Infinity.",
                "oneOf": [{"type": "number"}, {"type": "string", "enum": ["NaN", "Infinity", "-Infinity"]}]
              },
              "Metric": {
                "type": "object",
                "properties": {
                  "key": {"type": "string"},
                  "value": {"$ref": "#/components/schemas/MetricValue"},
                  "timestamp": {
                    "type": "integer",
                    "format": "int64",
                    "minimum": 0,
                    "description": "Milliseconds since the epoch (default 0)."
                  },
                  "step": {"type": "integer", "format": "int64", "description": "Default 0."}
                },
                "required": ["key", "value"]
              },
              "ExperimentID": {
                "type": "string",
                "pattern": "^[0-9]{1,18}$",
                "description": "A decimal experiment id (\"0\" is the Default experiment)."
              },
              "RunID": {"type": "string", "pattern": "^[0-9a-f]{32}$", "description": "32 lowercase hexadecimal characters."},
              "Digest": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"},
              "ViewType": {"type": "string", "enum": ["ACTIVE_ONLY", "DELETED_ONLY", "ALL"]},
              "RunStatus": {"type": "string", "enum": ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"]},
              "LifecycleStage": {"type": "string", "enum": ["active", "deleted"]},
              "ModelStage": {
                "type": "string",
                "enum": ["None", "Staging", "Production", "Archived"],
                "description": "Matched case-insensitively."
              },
              "Experiment": {
                "type": "object",
                "properties": {
                  "experiment_id": {"$ref": "#/components/schemas/ExperimentID"},
                  "name": {"type": "string"},
                  "artifact_location": {"type": "string"},
                  "lifecycle_stage": {"$ref": "#/components/schemas/LifecycleStage"},
                  "creation_time": {"type": "integer", "format": "int64"},
                  "last_update_time": {"type": "integer", "format": "int64"},
                  "tags": {"type": "array", "items": {"$ref": "#/components/schemas/Tag"}}
                },
                "required": ["experiment_id", "name", "lifecycle_stage", "creation_time", "last_update_time", "tags"]
              },
              "ExperimentBody": {
                "type": "object",
                "properties": {"experiment": {"$ref": "#/components/schemas/Experiment"}},
                "required": ["experiment"]
              },
              "ExperimentList": {
                "type": "object",
                "properties": {
                  "experiments": {"type": "array", "items": {"$ref": "#/components/schemas/Experiment"}},
                  "next_page_token": {"type": "string"}
                },
                "required": ["experiments"]
              },
              "CreateExperiment": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "tags": {"type": "array", "items": {"$ref": "#/components/schemas/Tag"}}},
                "required": ["name"]
              },
              "RenameExperiment": {"type": "object", "properties": {"new_name": {"type": "string"}}, "required": ["new_name"]},
              "SetTag": {
                "type": "object",
                "properties": {"key": {"type": "string"}, "value": {"type": "string"}},
                "required": ["key", "value"]
              },
              "TagChange": {
                "type": "object",
                "properties": {
                  "key": {"type": "string"},
                  "value": {"type": "string", "nullable": true, "description": "Absent for a delete."},
                  "time": {"type": "integer", "format": "int64"},
                  "actor": {"$ref": "#/components/schemas/Actor"},
                  "event_index": {"type": "integer", "format": "int64"}
                },
                "required": ["key", "time", "actor"]
              },
              "TagHistory": {
                "type": "object",
                "properties": {"changes": {"type": "array", "items": {"$ref": "#/components/schemas/TagChange"}}},
                "required": ["changes"]
              },
              "RunInfo": {
                "type": "object",
                "properties": {
                  "run_id": {"$ref": "#/components/schemas/RunID"},
                  "experiment_id": {"$ref": "#/components/schemas/ExperimentID"},
                  "run_name": {"type": "string"},
                  "user_id": {"type": "string"},
                  "status": {"$ref": "#/components/schemas/RunStatus"},
                  "start_time": {"type": "integer", "format": "int64"},
                  "end_time": {"type": "integer", "format": "int64"},
                  "lifecycle_stage": {"$ref": "#/components/schemas/LifecycleStage"},
                  "artifact_uri": {"type": "string"}
                },
                "required": ["run_id", "experiment_id", "run_name", "user_id", "status", "start_time", "lifecycle_stage"]
              },
              "DatasetInput": {
                "type": "object",
                "properties": {
                  "name": {"type": "string"},
                  "digest": {"type": "string", "description": "sha256:<hex> of the data set's bytes for native inputs."},
                  "source_type": {"type": "string"},
                  "source": {"type": "string"},
                  "schema": {
                    "type": "array",
                    "items": {
                      "type": "object",
                      "properties": {"name": {"type": "string"}, "type": {"type": "string"}},
                      "required": ["name", "type"]
                    }
                  },
                  "profile": {
                    "type": "object",
                    "properties": {"rows": {"type": "integer", "format": "int64"}, "columns": {"type": "integer", "format": "int64"}},
                    "required": ["rows", "columns"]
                  },
                  "context": {"type": "string", "description": "training, evaluation, ..."}
                },
                "required": ["name", "digest", "source_type", "source"]
              },
              "Run": {
                "type": "object",
                "properties": {
                  "info": {"$ref": "#/components/schemas/RunInfo"},
                  "params": {"type": "array", "items": {"$ref": "#/components/schemas/Param"}},
                  "metrics": {"type": "array", "items": {"$ref": "#/components/schemas/Metric"}},
                  "tags": {"type": "array", "items": {"$ref": "#/components/schemas/Tag"}},
                  "inputs": {"type": "array", "items": {"$ref": "#/components/schemas/DatasetInput"}}
                },
                "required": ["info", "params", "metrics", "tags", "inputs"]
              },
              "RunBody": {"type": "object", "properties": {"run": {"$ref": "#/components/schemas/Run"}}, "required": ["run"]},
              "RunInfoBody": {
                "type": "object",
                "properties": {"run_info": {"$ref": "#/components/schemas/RunInfo"}},
                "required": ["run_info"]
              },
              "RunList": {
                "type": "object",
                "properties": {
                  "runs": {"type": "array", "items": {"$ref": "#/components/schemas/Run"}},
                  "next_page_token": {"type": "string"}
                },
                "required": ["runs"]
              },
              "CreateRun": {
                "type": "object",
                "properties": {
                  "experiment_id": {"$ref": "#/components/schemas/ExperimentID"},
                  "run_name": {"type": "string"},
                  "user_id": {"type": "string"},
                  "start_time": {"type": "integer", "format": "int64", "description": "Milliseconds since the epoch."},
                  "tags": {"type": "array", "items": {"$ref": "#/components/schemas/Tag"}}
                },
                "description": "Every field is optional; an empty body creates a run in the Default experiment."
              },
              "UpdateRun": {
                "type": "object",
                "properties": {
                  "status": {"$ref": "#/components/schemas/RunStatus"},
                  "end_time": {"type": "integer", "format": "int64"},
                  "run_name": {"type": "string"}
                }
              },
              "SearchRuns": {
                "type": "object",
                "properties": {
                  "experiment_ids": {"type": "array", "items": {"$ref": "#/components/schemas/ExperimentID"}},
                  "filter": {"type": "string"},
                  "order_by": {"type": "array", "items": {"type": "string"}},
                  "max_results": {"type": "integer", "format": "int64", "minimum": 1, "maximum": 50000, "description": "Default 1000."},
                  "page_token": {"type": "string"},
                  "run_view_type": {"$ref": "#/components/schemas/ViewType"}
                },
                "required": ["experiment_ids"]
              },
              "LogBatch": {
                "type": "object",
                "properties": {
                  "metrics": {"type": "array", "items": {"$ref": "#/components/schemas/Metric"}},
                  "params": {"type": "array", "items": {"$ref": "#/components/schemas/Param"}},
                  "tags": {"type": "array", "items": {"$ref": "#/components/schemas/Tag"}}
                }
              },
              "LogInputs": {
                "type": "object",
                "properties": {"datasets": {"type": "array", "items": {"$ref": "#/components/schemas/DatasetInput"}}},
                "required": ["datasets"]
              },
              "MetricHistory": {
                "type": "object",
                "properties": {
                  "metrics": {"type": "array", "items": {"$ref": "#/components/schemas/Metric"}},
                  "next_page_token": {"type": "string"}
                },
                "required": ["metrics"]
              },
              "ArtifactEntry": {
                "type": "object",
                "properties": {
                  "path": {"type": "string"},
                  "digest": {"$ref": "#/components/schemas/Digest"},
                  "size_bytes": {"type": "integer", "format": "int64"},
                  "created_time": {"type": "integer", "format": "int64"}
                },
                "required": ["path", "digest", "size_bytes", "created_time"]
              },
              "ArtifactList": {
                "type": "object",
                "properties": {"artifacts": {"type": "array", "items": {"$ref": "#/components/schemas/ArtifactEntry"}}},
                "required": ["artifacts"]
              },
              "ArtifactBody": {
                "type": "object",
                "properties": {"artifact": {"$ref": "#/components/schemas/ArtifactEntry"}},
                "required": ["artifact"]
              },
              "Checkpoint": {
                "type": "object",
                "properties": {
                  "size": {"type": "integer", "format": "int64"},
                  "note": {"type": "string"},
                  "verifier_key": {"type": "string"}
                },
                "required": ["size", "note", "verifier_key"]
              },
              "PublicKey": {
                "type": "object",
                "properties": {"origin": {"type": "string"}, "verifier_key": {"type": "string"}},
                "required": ["origin", "verifier_key"]
              },
              "LedgerEvent": {
                "type": "object",
                "properties": {
                  "index": {"type": "integer", "format": "int64"},
                  "leaf_hash": {"type": "string", "description": "base64"},
                  "event": {"type": "object", "additionalProperties": true}
                },
                "required": ["index", "leaf_hash", "event"]
              },
              "LedgerEvents": {
                "type": "object",
                "properties": {"events": {"type": "array", "items": {"$ref": "#/components/schemas/LedgerEvent"}}},
                "required": ["events"]
              },
              "InclusionProof": {
                "type": "object",
                "properties": {
                  "index": {"type": "integer", "format": "int64"},
                  "tree_size": {"type": "integer", "format": "int64"},
                  "leaf_hash": {"type": "string"},
                  "path": {"type": "array", "items": {"type": "string"}},
                  "checkpoint": {"type": "string"}
                },
                "required": ["index", "tree_size", "leaf_hash", "path", "checkpoint"]
              },
              "ConsistencyProof": {
                "type": "object",
                "properties": {
                  "first": {"type": "integer", "format": "int64"},
                  "second": {"type": "integer", "format": "int64"},
                  "path": {"type": "array", "items": {"type": "string"}},
                  "first_checkpoint": {"type": "string"},
                  "second_checkpoint": {"type": "string"}
                },
                "required": ["first", "second", "path", "first_checkpoint", "second_checkpoint"]
              },
              "RegisteredModel": {
                "type": "object",
                "properties": {
                  "name": {"type": "string"},
                  "description": {"type": "string"},
                  "creation_timestamp": {"type": "integer", "format": "int64"},
                  "last_updated_timestamp": {"type": "integer", "format": "int64"},
                  "aliases": {
                    "type": "object",
                    "additionalProperties": {"type": "integer", "format": "int64"},
                    "description": "alias -> version"
                  }
                },
                "required": ["name", "description", "creation_timestamp", "last_updated_timestamp", "aliases"]
              },
              "ModelList": {
                "type": "object",
                "properties": {
                  "models": {"type": "array", "items": {"$ref": "#/components/schemas/RegisteredModel"}},
                  "next_page_token": {"type": "string"}
                },
                "required": ["models"]
              },
              "ManifestFile": {
                "type": "object",
                "properties": {
                  "path": {"type": "string"},
                  "digest": {"$ref": "#/components/schemas/Digest"},
                  "size_bytes": {"type": "integer", "format": "int64"}
                },
                "required": ["path", "digest", "size_bytes"]
              },
              "ModelManifest": {
                "type": "object",
                "properties": {
                  "files": {"type": "array", "items": {"$ref": "#/components/schemas/ManifestFile"}},
                  "root": {"$ref": "#/components/schemas/Digest"}
                },
                "required": ["files", "root"]
              },
              "ModelVersion": {
                "type": "object",
                "properties": {
                  "name": {"type": "string"},
                  "version": {"type": "integer", "format": "int64"},
                  "run_id": {"$ref": "#/components/schemas/RunID"},
                  "source": {"type": "string"},
                  "manifest": {"$ref": "#/components/schemas/ModelManifest"},
                  "current_stage": {"$ref": "#/components/schemas/ModelStage"},
                  "description": {"type": "string"},
                  "created_by": {"$ref": "#/components/schemas/Actor"},
                  "creation_timestamp": {"type": "integer", "format": "int64"},
                  "last_updated_timestamp": {"type": "integer", "format": "int64"},
                  "aliases": {"type": "array", "items": {"type": "string"}},
                  "status": {"type": "string", "enum": ["READY"]}
                },
                "required": [
                  "name",
                  "version",
                  "source",
                  "manifest",
                  "current_stage",
                  "description",
                  "created_by",
                  "creation_timestamp",
                  "last_updated_timestamp",
                  "aliases",
                  "status"
                ]
              },
              "ModelWithVersions": {
                "type": "object",
                "properties": {
                  "model": {"$ref": "#/components/schemas/RegisteredModel"},
                  "versions": {"type": "array", "items": {"$ref": "#/components/schemas/ModelVersion"}}
                },
                "required": ["model", "versions"]
              },
              "CreateModel": {
                "type": "object",
                "properties": {
                  "name": {"type": "string", "minLength": 1, "maxLength": 256, "description": "No '/', ':' or '@'."},
                  "description": {"type": "string"}
                },
                "required": ["name"]
              },
              "CreateVersion": {
                "type": "object",
                "properties": {
                  "run_id": {"$ref": "#/components/schemas/RunID"},
                  "path": {"type": "string", "description": "The run artifact folder holding the model's files."},
                  "description": {"type": "string"}
                },
                "required": ["run_id", "path"]
              },
              "Transition": {
                "type": "object",
                "properties": {
                  "stage": {"$ref": "#/components/schemas/ModelStage"},
                  "archive_existing_versions": {"type": "boolean"},
                  "reason": {"type": "string"}
                },
                "required": ["stage"]
              },
              "SetAlias": {
                "type": "object",
                "properties": {
                  "alias": {"$ref": "#/components/schemas/Alias"},
                  "version": {"type": "integer", "format": "int64", "minimum": 1},
                  "reason": {"type": "string", "maxLength": 2000}
                },
                "required": ["alias", "version"]
              },
              "EmergencySetAlias": {
                "type": "object",
                "properties": {
                  "alias": {"$ref": "#/components/schemas/Alias"},
                  "version": {"type": "integer", "format": "int64", "minimum": 1, "description": "Absent: remove the alias."},
                  "reason": {"type": "string", "minLength": 10, "maxLength": 2000, "description": "Why the gate is bypassed."}
                },
                "required": ["alias", "reason"]
              },
              "Alias": {
                "type": "string",
                "minLength": 1,
                "maxLength": 255,
                "description": "Letters, digits, '_' or '-'; not 'latest', v<number> or a stage name."
              },
              "PromotionPolicy": {
                "type": "object",
                "properties": {
                  "approvals": {"type": "integer", "format": "int64", "minimum": 0, "maximum": 10},
                  "approval_ttl_hours": {"type": "integer", "format": "int64", "minimum": 1, "maximum": 87600},
                  "metrics": {
                    "type": "array",
                    "items": {
                      "type": "object",
                      "properties": {
                        "key": {"type": "string"},
                        "op": {"type": "string", "enum": [">=", ">", "<=", "<", "=="]},
                        "value": {"type": "number"}
                      },
                      "required": ["key", "op", "value"]
                    }
                  },
                  "evidence_artifacts": {"type": "array", "items": {"type": "string"}},
                  "provenance_tags": {"type": "array", "items": {"type": "string"}},
                  "security_decision": {"type": "string"},
                  "attestations": {"type": "array", "items": {"type": "string", "description": "predicate type URI"}},
                  "no_open_drift_alert": {"type": "boolean"}
                },
                "additionalProperties": false,
                "description": "A promotion policy document; unknown keys are refused."
              },
              "PolicyVersion": {
                "type": "object",
                "properties": {"policy_version": {"type": "integer", "format": "int64"}},
                "required": ["policy_version"]
              },
              "GateRequirement": {
                "type": "object",
                "properties": {"requirement": {"type": "string"}, "met": {"type": "boolean"}, "evidence": {"type": "string"}},
                "required": ["requirement", "met", "evidence"]
              },
              "GateReport": {
                "type": "object",
                "properties": {
                  "name": {"type": "string"},
                  "version": {"type": "integer", "format": "int64"},
                  "target": {"type": "string"},
                  "policy_version": {"type": "integer", "format": "int64"},
                  "requirements": {"type": "array", "items": {"$ref": "#/components/schemas/GateRequirement"}},
                  "granted": {"type": "boolean"}
                },
                "required": ["name", "version", "target", "requirements", "granted"]
              },
              "Decision": {
                "type": "object",
                "properties": {
                  "target": {"type": "string", "description": "@alias or a stage name"},
                  "decision": {"type": "string", "enum": ["approve", "reject"], "description": "approve or reject (case-insensitive)"},
                  "comment": {"type": "string", "maxLength": 2000},
                  "digest": {"$ref": "#/components/schemas/Digest"}
                },
                "required": ["target", "decision"]
              },
              "Approval": {
                "type": "object",
                "properties": {
                  "name": {"type": "string"},
                  "version": {"type": "integer", "format": "int64"},
                  "target": {"type": "string"},
                  "approver": {"type": "string"},
                  "root_digest": {"$ref": "#/components/schemas/Digest"},
                  "decision": {"type": "string"},
                  "comment": {"type": "string"},
                  "time": {"type": "integer", "format": "int64"},
                  "event_index": {"type": "integer", "format": "int64"}
                },
                "required": ["name", "version", "target", "approver", "root_digest", "decision", "comment", "time", "event_index"]
              },
              "DSSEEnvelope": {
                "type": "object",
                "properties": {
                  "payloadType": {"type": "string", "example": "application/vnd.in-toto+json"},
                  "payload": {"type": "string", "format": "byte", "description": "base64 of an in-toto Statement v1"},
                  "signatures": {
                    "type": "array",
                    "items": {
                      "type": "object",
                      "properties": {"keyid": {"type": "string"}, "sig": {"type": "string", "format": "byte"}},
                      "required": ["sig"]
                    }
                  }
                },
                "required": ["payloadType", "payload", "signatures"]
              },
              "Attestation": {
                "type": "object",
                "properties": {
                  "name": {"type": "string"},
                  "version": {"type": "integer", "format": "int64"},
                  "predicate_type": {"type": "string"},
                  "envelope_digest": {"$ref": "#/components/schemas/Digest"},
                  "payload_digest": {"$ref": "#/components/schemas/Digest"},
                  "subject_digest": {"$ref": "#/components/schemas/Digest"},
                  "keyids": {"type": "array", "items": {"type": "string"}},
                  "submitted_by": {"type": "string"},
                  "time": {"type": "integer", "format": "int64"},
                  "event_index": {"type": "integer", "format": "int64"}
                },
                "required": [
                  "name",
                  "version",
                  "predicate_type",
                  "envelope_digest",
                  "payload_digest",
                  "subject_digest",
                  "keyids",
                  "submitted_by",
                  "time",
                  "event_index"
                ]
              },
              "TrustKey": {
                "type": "object",
                "properties": {
                  "name": {"type": "string", "minLength": 1, "maxLength": 200},
                  "public_key": {"type": "string", "pattern": "^[0-9a-fA-F]{64}$", "description": "raw Ed25519 public key, hex"},
                  "predicate_types": {"type": "array", "items": {"type": "string"}, "minItems": 1}
                },
                "required": ["name", "public_key", "predicate_types"]
              },
              "TrustedKey": {
                "type": "object",
                "properties": {
                  "keyid": {"type": "string"},
                  "name": {"type": "string"},
                  "public_key": {"type": "string"},
                  "predicate_types": {"type": "array", "items": {"type": "string"}},
                  "revoked": {"type": "boolean"},
                  "actor": {"type": "string"},
                  "time": {"type": "integer", "format": "int64"},
                  "event_index": {"type": "integer", "format": "int64"}
                },
                "required": ["keyid", "name", "public_key", "predicate_types", "revoked", "actor", "time", "event_index"]
              },
              "RegistryChange": {
                "type": "object",
                "properties": {
                  "kind": {"type": "string", "enum": ["alias", "stage"]},
                  "name": {"type": "string"},
                  "key": {"type": "string"},
                  "from": {"type": "string"},
                  "to": {"type": "string"},
                  "reason": {"type": "string"},
                  "actor": {"$ref": "#/components/schemas/Actor"},
                  "time": {"type": "integer", "format": "int64"},
                  "event_index": {"type": "integer", "format": "int64"}
                },
                "required": ["kind", "name", "key", "reason", "actor", "time", "event_index"]
              },
              "RegistryHistory": {
                "type": "object",
                "properties": {"changes": {"type": "array", "items": {"$ref": "#/components/schemas/RegistryChange"}}},
                "required": ["changes"]
              },
              "Resolution": {
                "type": "object",
                "properties": {
                  "versions": {"type": "array", "items": {"type": "integer", "format": "int64"}},
                  "change": {"$ref": "#/components/schemas/RegistryChange"}
                },
                "required": ["versions"]
              }
            },
            "responses": {
              "BadRequest": {
                "description": "Invalid parameter or malformed request (INVALID_PARAMETER_VALUE, MALFORMED_REQUEST).",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
              },
              "Unauthorized": {
                "description": "No valid token (UNAUTHENTICATED).",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
              },
              "Forbidden": {
                "description": "The token's user lacks the role this endpoint needs (PERMISSION_DENIED).",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
              },
              "NotFound": {
                "description": "No such resource or endpoint (RESOURCE_DOES_NOT_EXIST, ENDPOINT_NOT_FOUND).",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
              },
              "Conflict": {
                "description": "Already exists, or the state forbids the change (RESOURCE_ALREADY_EXISTS, RESOURCE_CONFLICT, INVALID_STATE).",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
              },
              "TooLarge": {
                "description": "The request body is larger than the configured limit (REQUEST_TOO_LARGE).",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
              }
            },
            "parameters": {
              "experiment_id": {
                "name": "experiment_id",
                "in": "path",
                "required": true,
                "schema": {"$ref": "#/components/schemas/ExperimentID"}
              },
              "run_id": {"name": "run_id", "in": "path", "required": true, "schema": {"$ref": "#/components/schemas/RunID"}},
              "tag_key": {
                "name": "key",
                "in": "path",
                "required": true,
                "schema": {"type": "string", "minLength": 1},
                "description": "The tag key, percent-encoded."
              },
              "metric_key": {
                "name": "key",
                "in": "path",
                "required": true,
                "schema": {"type": "string", "minLength": 1},
                "description": "The metric key, percent-encoded."
              },
              "model_name": {
                "name": "name",
                "in": "path",
                "required": true,
                "schema": {"type": "string", "minLength": 1},
                "description": "The registered model's name, percent-encoded."
              },
              "version": {
                "name": "version",
                "in": "path",
                "required": true,
                "schema": {"type": "integer", "format": "int64", "minimum": 1},
                "description": "A version number (positive)."
              },
              "alias": {"name": "alias", "in": "path", "required": true, "schema": {"type": "string", "minLength": 1}},
              "keyid": {"name": "keyid", "in": "path", "required": true, "schema": {"type": "string", "minLength": 1}},
              "max_results": {
                "name": "max_results",
                "in": "query",
                "required": false,
                "schema": {"type": "integer", "format": "int64", "minimum": 1, "maximum": 50000},
                "description": "Page size (default 1000)."
              },
              "max_results_models": {
                "name": "max_results",
                "in": "query",
                "required": false,
                "schema": {"type": "integer", "format": "int64", "minimum": 1, "maximum": 1000},
                "description": "Page size (default 100)."
              },
              "max_results_metrics": {
                "name": "max_results",
                "in": "query",
                "required": false,
                "schema": {"type": "integer", "format": "int64", "minimum": 1},
                "description": "Page size (default 25000)."
              },
              "page_token": {
                "name": "page_token",
                "in": "query",
                "required": false,
                "schema": {"type": "string"},
                "description": "The next_page_token of the previous page."
              }
            }
          }
        }
        """#
}
