/// Readable generated run names, in MLflow's `adjective-noun-number` style.
enum RunNames {
    static let adjectives = [
        "amber", "bold", "calm", "clever", "crisp", "daring", "eager", "gentle", "keen", "lucid", "merry", "nimble",
        "quiet", "rapid", "sharp", "steady", "sunny", "swift", "tidy", "vivid",
    ]
    static let nouns = [
        "badger", "crane", "dolphin", "falcon", "fox", "heron", "ibis", "lynx", "marten", "otter", "owl", "panda",
        "quail", "raven", "seal", "swan", "tern", "vole", "wren", "yak",
    ]

    static func random() -> String {
        "\(adjectives.randomElement()!)-\(nouns.randomElement()!)-\(Int.random(in: 100...999))"
    }
}
