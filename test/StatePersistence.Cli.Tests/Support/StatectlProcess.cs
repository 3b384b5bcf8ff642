using System.Diagnostics;

namespace StatePersistence.Cli.Tests.Support;

/// <summary>A real <c>statectl</c> process left running, for tests that act on it while it runs (a signal, a lock held).</summary>
public static class StatectlProcess
{
    /// <summary>Starts <c>dotnet statectl.dll</c> with <paramref name="arguments"/>, both output streams redirected.</summary>
    public static Process Start(params string[] arguments) => Start(arguments, new Dictionary<string, string>());

    /// <summary>As <see cref="Start(string[])"/>, with <paramref name="environment"/> set for the process.</summary>
    public static Process Start(IEnumerable<string> arguments, IReadOnlyDictionary<string, string> environment)
    {
        var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(StatectlRun.StatectlDll);
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach ((string name, string value) in environment)
        {
            info.Environment[name] = value;
        }

        return Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start.");
    }
}
