namespace Workbench.Cli.Sweeps;

/// <summary>
/// How a sweep starts <c>workbench</c> as a child process: the .NET host running this build's
/// <c>Workbench.Cli.dll</c> (absolute paths, so a Slurm task on a node that shares the file system finds them).
/// </summary>
public static class WorkbenchExecutable
{
    public static IReadOnlyList<string> Command()
    {
        var dll = typeof(CliRoot).Assembly.Location;
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (string.IsNullOrEmpty(host) || !File.Exists(host))
            host = Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet" ? Environment.ProcessPath! : "dotnet";
        return new[] { host, dll };
    }
}
