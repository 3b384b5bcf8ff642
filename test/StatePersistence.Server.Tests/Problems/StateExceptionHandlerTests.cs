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

public sealed class StateExceptionHandlerTests
{
    [Fact]
    public async Task ServerErrors_CarryACorrelationId_NotTheExceptionsMessageOrPath()
    {
        using ServiceProvider metrics = new ServiceCollection().AddMetrics().BuildServiceProvider();
        using var refused = new RefusedRequests(metrics.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), TimeProvider.System,
            new RefusalLog(NullLogger<RefusalLog>.Instance));
        var handler = new StateExceptionHandler(NullLogger<StateExceptionHandler>.Instance, Options.Create(new StateServerOptions()), refused);
        foreach (Exception error in new Exception[]
                 {
                     new StateStorageException("Could not write '/srv/secret-state/tasks/t.json': disk on fire", "/srv/secret-state/tasks/t.json", null),
                     new InvalidOperationException("boom at /srv/secret-state"),
                 })
        {
            var context = new DefaultHttpContext { TraceIdentifier = "corr-42", RequestServices = new ServiceCollection().AddLogging().BuildServiceProvider() };
            context.Response.Body = new MemoryStream();

            Assert.True(await handler.TryHandleAsync(context, error, TestContext.Current.CancellationToken));

            context.Response.Body.Position = 0;
            using JsonDocument problem = await JsonDocument.ParseAsync(context.Response.Body, cancellationToken: TestContext.Current.CancellationToken);
            Assert.True(context.Response.StatusCode >= 500);
            Assert.Equal("corr-42", problem.RootElement.GetProperty("correlation_id").GetString());
            Assert.Contains("corr-42", problem.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
            Assert.DoesNotContain("/srv", problem.RootElement.GetRawText(), StringComparison.Ordinal);
        }
    }
}
