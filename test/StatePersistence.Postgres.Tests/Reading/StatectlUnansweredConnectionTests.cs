using System.Net;
using System.Net.Sockets;
using Npgsql;
using StatePersistence.Cli.Tests.Support;
using StatePersistence.Postgres.Tests.Support;

namespace StatePersistence.Postgres.Tests.Reading;

/// <summary>
/// <c>statectl ... --store postgres</c> against an address that takes the TCP connection and never answers (a wrong
/// port held by another service, a hung server, a proxy): each command fails within the connection string's
/// <c>Timeout</c> and says that no answer came while connecting, naming the setting, as a 3 a.m. operator needs. Before
/// 2026-12-07 the line was "The operation has timed out (The operation has timed out.)", naming neither.
/// </summary>
public sealed class StatectlUnansweredConnectionTests
{
    [Fact]
    public async Task ACommandOnADatabaseThatNeverAnswers_FailsSayingNoAnswerCameWhileConnecting_NamingTheTimeoutSetting()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var held = new List<Socket>();
        using var stop = new CancellationTokenSource();
        Task accepting = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    held.Add(await silent.AcceptSocketAsync(stop.Token));
                }
            }
            catch (OperationCanceledException)
            {
                // The test is over.
            }
        }, TestContext.Current.CancellationToken);
        var connection = new NpgsqlConnectionStringBuilder(PostgresServer.ConnectionString)
        {
            Port = ((IPEndPoint)silent.LocalEndpoint).Port, Password = "not-shown-7c1d", Timeout = 2,
        };
        var environment = new Dictionary<string, string> { ["STATEPERSISTENCE_CONNECTION_STRING"] = connection.ConnectionString };

        try
        {
            foreach (string[] command in new[] { new[] { "tasks", "list" }, ["verify"], ["health", "--json"] })
            {
                StatectlRun run = await StatectlRun.RunAsync([.. command, "--store", "postgres"], environment: environment);

                Assert.True(run.ExitCode == 1, run.ToString());
                Assert.Contains("no answer while connecting", run.ToString(), StringComparison.Ordinal);
                Assert.Contains("Timeout", run.ToString(), StringComparison.Ordinal);
                Assert.DoesNotContain("(The operation has timed out.)", run.ToString(), StringComparison.Ordinal);
                Assert.DoesNotContain("not-shown-7c1d", run.ToString(), StringComparison.Ordinal);
            }
        }
        finally
        {
            await stop.CancelAsync();
            await accepting;
            held.ForEach(s => s.Dispose());
        }
    }
}
