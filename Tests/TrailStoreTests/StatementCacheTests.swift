import Foundation
import Testing
import TrailCore
@testable import TrailStore

/// SQLite connections keep only a bounded set of prepared statements: SQL whose text carries
/// values (`IN (pk, …)`) must not grow a long-running server's memory with every run it reads.
@Suite("SQLite statement cache")
struct StatementCacheTests {
    @Test func onlyABoundedSetOfTextsIsKeptPrepared() {
        let policy = StatementCachePolicy(limit: 3)
        #expect(policy.admits("SELECT 1") && policy.admits("SELECT 2") && policy.admits("SELECT 3"))
        #expect(!policy.admits("SELECT 4"), "past the limit a new text is prepared for one use")
        #expect(policy.admits("SELECT 1"), "a text already kept stays kept")
        #expect(policy.count == 3)
    }


    @Test func theStoresPolicyIsBounded() {
        #expect(StatementCachePolicy.shared.limit == 2048)
    }
}
