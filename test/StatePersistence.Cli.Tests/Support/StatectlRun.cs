using System.Diagnostics;
using System.Text.Json;

namespace StatePersistence.Cli.Tests.Support;

/// <summary>One run of the real <c>statectl</c> process: its exit code and both output streams.</summary>
public sealed record StatectlRun(int ExitCode, string Output, string Error)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    /// <summary>The built tool, copied beside the tests by the project reference.</summary>
    public static string StatectlDll => Path.Combine(AppContext.BaseDirectory, "statectl.dll");

    /// <summary>Standard output parsed as one JSON document (for <c>--json</c> runs).</summary>
    public JsonElement Json()
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(Output);
            return document.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw new InvalidOperationException($"statectl's output is not JSON ({ex.Message}):\n{this}", ex);
        }
    }

    /// <summary>
    /// Runs <c>dotnet statectl.dll</c> with <paramref name="arguments"/> in <paramref name="workingDirectory"/>; the
    /// environment is cleaned of <c>STATE_PATH</c>, <c>EDITOR</c>, <c>VISUAL</c>, the encryption key variables and the server's PostgreSQL
    /// settings unless <paramref name="environment"/> sets them.
    /// </summary>
    public static async Task<StatectlRun> RunAsync(IEnumerable<string> arguments, string? workingDirectory = null,
        IReadOnlyDictionary<string, string>? environment = null, string? standardInput = null)
    {
        var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = standardInput is not null,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? AppContext.BaseDirectory,
        };
        info.ArgumentList.Add(StatectlDll);
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment.Remove("STATE_PATH");
        info.Environment.Remove("StatePersistence__StatePath");
        info.Environment.Remove("EDITOR");
        info.Environment.Remove("VISUAL");
        info.Environment.Remove("STATE_ENCRYPTION_KEY_FILE");
        info.Environment.Remove("STATE_ENCRYPTION_KEY");
        info.Environment.Remove("STATEPERSISTENCE_CONNECTION_STRING");
        info.Environment.Remove("StatePersistence__Store");
        info.Environment.Remove("StatePersistence__ConnectionString");
        info.Environment.Remove("StatePersistence__Schema");
        foreach ((string name, string value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        using Process process = Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start.");
        Task<string> output = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        Task<string> error = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        if (standardInput is not null)
        {
            await process.StandardInput.WriteAsync(standardInput);
            process.StandardInput.Close();
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(Timeout);
        await process.WaitForExitAsync(timeout.Token);
        return new StatectlRun(process.ExitCode, await output, await error);
    }

    public static Task<StatectlRun> RunAsync(params string[] arguments) => RunAsync((IEnumerable<string>)arguments);

    public override string ToString() => $"exit code {ExitCode}\n--- stdout ---\n{Output}\n--- stderr ---\n{Error}";
}
