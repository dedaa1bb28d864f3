import TrailCLI

@main
struct Entry {
    static func main() async {
        await TrailCommand.main()
    }
}
