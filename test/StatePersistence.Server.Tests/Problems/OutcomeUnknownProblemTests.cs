using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StatePersistence.Errors;
using StatePersistence.Server.Configuration;
using StatePersistence.Server.Problems;
using StatePersistence.Server.Refusals;

namespace StatePersistence.Server.Tests.Problems;

/// <summary>
/// A write the store could not tell stored or not (its COMMIT's answer lost, not settled: <see cref="StateOutcomeUnknownException"/>)
/// is answered 503 saying it may have been stored. Before 2026-12-07 it was answered as every storage failure, "nothing
/// of this request was stored", and a client that repeated a log append on that logged it twice.
/// </summary>
public sealed class OutcomeUnknownProblemTests
{
    [Fact]
    public async Task AWriteOfUnknownOutcome_Is503_SayingItMayHaveBeenStored()
    {
        using ServiceProvider metrics = new ServiceCollection().AddMetrics().BuildServiceProvider();
        using var refused = new RefusedRequests(metrics.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), TimeProvider.System,
            new RefusalLog(NullLogger<RefusalLog>.Instance));
        var handler = new StateExceptionHandler(NullLogger<StateExceptionHandler>.Instance, Options.Create(new StateServerOptions()), refused);
        var context = new DefaultHttpContext { TraceIdentifier = "corr-7", RequestServices = new ServiceCollection().AddLogging().BuildServiceProvider() };
        context.Response.Body = new MemoryStream();

        Assert.True(await handler.TryHandleAsync(context, new StateOutcomeUnknownException(
            "The store 'postgresql://db/postgres#sp' could not append to the log of session 's1': the connection was reset.", "postgresql://db/postgres#sp", null),
            TestContext.Current.CancellationToken));

        context.Response.Body.Position = 0;
        using JsonDocument problem = await JsonDocument.ParseAsync(context.Response.Body, cancellationToken: TestContext.Current.CancellationToken);
        string detail = problem.RootElement.GetProperty("detail").GetString()!;
        Assert.Equal(StatusCodes.Status503ServiceUnavailable, context.Response.StatusCode);
        Assert.Contains("may have been stored", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("nothing of this request was stored", detail, StringComparison.OrdinalIgnoreCase);

        // Both causes are named: before 2026-12-07 the detail blamed a lost connection, also for a commit the synchronous
        // standby did not confirm (UnconfirmedStandbyCommitTests), where no connection was lost.
        Assert.Contains("synchronous standby did not confirm", detail, StringComparison.Ordinal);
        Assert.Equal("corr-7", problem.RootElement.GetProperty("correlation_id").GetString());
    }
}
