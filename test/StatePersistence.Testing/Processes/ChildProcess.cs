using System.Diagnostics;

namespace StatePersistence.Testing.Processes;

/// <summary>Starts test/StatePersistence.ChildProcess, a real separate process using the library.</summary>
internal static class ChildProcess
{
    /// <summary>The built child program, found beside the calling test project's output under test/.</summary>
    public static string DllPath
    {
        get
        {
            // Both projects build to bin/<configuration>/net10.0 beside each other under test/.
            string here = AppContext.BaseDirectory;
            string path = Path.GetFullPath(Path.Combine(here, "..", "..", "..", "..", "StatePersistence.ChildProcess",
                Path.GetRelativePath(Path.GetFullPath(Path.Combine(here, "..", "..", "..")), here), "StatePersistence.ChildProcess.dll"));
            return File.Exists(path) ? path : throw new FileNotFoundException($"Build test/StatePersistence.ChildProcess first; '{path}' is missing.", path);
        }
    }

    /// <summary>Starts the child with <paramref name="args"/>, its standard streams redirected.</summary>
    public static Process Start(params string[] args) => Start(null, args);

    /// <summary>
    /// Starts the child with <paramref name="args"/> and <paramref name="environment"/> added to this process's own
    /// (how a child is given a key file: <c>STATE_ENCRYPTION_KEY_FILE</c>, read by the library itself).
    /// </summary>
    public static Process Start(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,

            // Never written: it closes when this process dies, which tells the child to stop.
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(DllPath);
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach ((string name, string value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        return Process.Start(info) ?? throw new InvalidOperationException("The child process did not start.");
    }
}
