using System.Diagnostics;
using StatePersistence.Testing.Processes;

namespace StatePersistence.CrashTests.Corruption;

/// <summary>
/// A state directory as a real process left it when it was killed with SIGKILL in the middle of its work: a
/// journal, checkpointed task and session files, <c>state.json</c> with backups, session logs and reports.
/// </summary>
internal static class KilledDirectory
{
    private static readonly TimeSpan LineDeadline = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Runs the child's mixed loop in <paramref name="statePath"/> (encrypted with <paramref name="keyFile"/> when
    /// given) and kills it after <paramref name="acks"/> acknowledged calls.
    /// </summary>
    public static async Task CreateAsync(string statePath, int acks, string? keyFile = null)
    {
        using Process child = ChildProcess.Start(keyFile is null ? null : new Dictionary<string, string> { ["STATE_ENCRYPTION_KEY_FILE"] = keyFile }, "mixed-loop", statePath, "--autosave-ms", "150");
        Task<string> errors = child.StandardError.ReadToEndAsync();
        int acknowledged = 0;
        while (acknowledged < acks)
        {
            string? line = await child.StandardOutput.ReadLineAsync().WaitAsync(LineDeadline)
                ?? throw new InvalidOperationException($"The mixed loop exited early: {await errors}");
            if (line.StartsWith("ack ", StringComparison.Ordinal))
            {
                acknowledged++;
            }
        }

        child.Kill(entireProcessTree: true);
        await child.WaitForExitAsync();
        await errors;
    }
}
