using System.Net;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Cli.Tests.Support;

/// <summary>A state directory as a server killed with SIGKILL leaves it: journal records after the last snapshot.</summary>
public static class KilledServerState
{
    /// <summary>
    /// Fills <paramref name="statePath"/> as <see cref="ServerWrittenState.WriteAsync"/> does, then starts the server
    /// again, creates the tasks <paramref name="journalOnlyTasks"/> and kills it: they are in the journal only (no
    /// snapshot and no task file holds them), so the next open recovers them and checkpoints.
    /// </summary>
    public static async Task WriteAsync(string statePath, int tasks, params string[] journalOnlyTasks)
    {
        await ServerWrittenState.WriteAsync(statePath, tasks);
        await using ServerProcess server = await ServerProcess.StartAsync(ServerProcess.FreePort(), ["--state-path", statePath]);
        foreach (string id in journalOnlyTasks)
        {
            using HttpResponseMessage created = await server.Client.PostJsonAsync("/api/tasks", $$"""{"id":"{{id}}","description":"only in the journal"}""");
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        await server.KillAsync();
    }
}
