import Foundation
import TrailCore

/// `model_card.md`: what the model is for, what it is not for, and what stands behind it.
enum ModelCard {
    static func render(
        runID: RunID, runName: String, owner: String, source: String, dataDigest: Digest, rows: Int, features: Int, trainRows: Int, testRows: Int,
        metrics: [String: Double], confusion: [[Int]], config: TrainingConfig, modelDigest: Digest, environment: TrainingEnvironment
    ) -> String {
        func f(_ key: String) -> String { String(format: "%.4f", metrics[key] ?? .nan) }
        return """
            # Model card: breast cancer classifier (logistic regression)

            - **Run:** `\(runID)` (`\(runName)`)
            - **Owner:** \(owner)
            - **Model file:** `model/model.json`, \(modelDigest)
            - **Code:** git commit `\(environment.gitCommit)`\(environment.gitDirty ? " (work tree dirty, diff \(environment.gitDiffSHA256 ?? "?"))" : ""), branch `\(environment.gitBranch)`
            - **Environment:** \(environment.digest) (`\(environment.swiftToolchain)`, \(environment.os))

            ## Intended use

            A teaching and demonstration model for audit-grade ML tooling: it shows how a prediction is traced back to its
            data, code and approvals. It estimates the probability that a breast mass described by 30 numeric features
            of a fine-needle aspirate image is **benign** (positive class `1` = benign, `0` = malignant).

            **NOT for clinical use.** It must not be used to diagnose, screen or treat anyone, nor to support any medical decision.

            ## Data

            Breast Cancer Wisconsin (Diagnostic), UCI, CC BY 4.0: \(rows) rows, \(features) features, `target` 1 = benign, 0 = malignant.
            Source `\(source)`, \(dataDigest). Stratified split with seed \(config.seed): \(trainRows) training rows, \(testRows) held-out rows
            (test fraction \(JSONValue.ecmaScriptNumber(config.testSize))).

            ## Model

            StandardScaler (population standard deviation) then L2-regularised logistic regression, C = \(JSONValue.ecmaScriptNumber(config.c)),
            intercept not penalised, Newton's method to a gradient tolerance of \(JSONValue.ecmaScriptNumber(config.tolerance)). Threshold 0.5 on
            P(benign).

            ## Metrics (held-out set)

            | metric | value |
            |---|---|
            | accuracy | \(f("accuracy")) |
            | precision (benign) | \(f("precision")) |
            | recall (benign) | \(f("recall")) |
            | f1 (benign) | \(f("f1")) |
            | roc_auc | \(f("roc_auc")) |

            Confusion matrix (rows true, columns predicted; malignant, benign): \(confusion[0]) / \(confusion[1]).

            ## Limits

            - \(rows) samples from one institution in the 1990s; no external validation; performance on other populations,
              imaging equipment or preparation protocols is unknown.
            - A false "benign" (a missed malignancy) is far more costly than a false "malignant"; the 0.5 threshold is not
              tuned for that asymmetry.
            - Inputs outside the training ranges (see `model/training_profile.json`) are extrapolation; monitor drift.
            - No fairness analysis was possible: the data carry no demographic attributes.

            ## Reproduction

            `trail reproduce \(runID.value)` (or `repro/run.sh`) rebuilds this model from `repro/manifest.json` and compares the model
            digest and every metric.

            """
    }
}
