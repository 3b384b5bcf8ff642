using System.Globalization;
using System.Net;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Dashboard;

/// <summary>
/// An operator action refused before it reaches its route, for the free-disk floor (507) or a query parameter the route
/// does not take (400), is audited with that status like any other refusal: the checks that refused it ran ahead of the
/// audit, so "Take a snapshot now" clicked on a server short of disk left no trace in the log or the event stream.
/// </summary>
public sealed class AuditRefusedBeforeTheRouteTests
{
    [Fact]
    public async Task ASnapshotActionRefusedForTheDiskFloor_IsAuditedWith507()
    {
        await using var server = new StateServerFactory(
            ("StatePersistence:Server:Quotas:MinFreeDiskBytes", (long.MaxValue / 2).ToString(CultureInfo.InvariantCulture)),
            ("StatePersistence:HealthCheck:LowDiskSpaceBytes", long.MaxValue.ToString(CultureInfo.InvariantCulture)));
        using HttpClient client = server.Client();

        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/state/save");
        request.Headers.Add("X-StatePersistence-Action", "snapshot");
        await (await client.SendAsync(request, Ct)).ExpectProblemAsync(HttpStatusCode.InsufficientStorage);

        await UntilLogged(server, "Audit: operator action snapshot: POST /api/state/save answered 507 (client unknown)");
    }

    [Fact]
    public async Task AnActionRefusedForItsQuery_IsAuditedWith400()
    {
        await using var server = new StateServerFactory();
        using HttpClient client = server.Client();

        using var request = new HttpRequestMessage(HttpMethod.Patch, "/api/tasks/task_1?force=1") { Content = Json("""{"status":"cancelled"}""") };
        request.Headers.Add("X-StatePersistence-Action", "cancel-task");
        await (await client.SendAsync(request, Ct)).ExpectProblemAsync(HttpStatusCode.BadRequest);

        await UntilLogged(server, "Audit: operator action cancel-task: PATCH /api/tasks/task_1 answered 400 (client unknown)");
    }

    /// <summary>The audit is written once the answer is complete, which may be just after the client has it.</summary>
    private static async Task UntilLogged(StateServerFactory server, string line)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        bounded.CancelAfter(TimeSpan.FromSeconds(10));
        while (!server.Logs.Entries.Any(e => e.Text == line))
        {
            try
            {
                await Task.Delay(10, bounded.Token);
            }
            catch (OperationCanceledException) when (!Ct.IsCancellationRequested)
            {
                Assert.Fail($"Not logged within 10 s: {line}");
            }
        }
    }
}
