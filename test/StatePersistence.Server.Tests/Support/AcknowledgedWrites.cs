using System.Net;
using System.Text.Json;

namespace StatePersistence.Server.Tests.Support;

/// <summary>The checks after a failure under <see cref="AcknowledgedWriteLoad"/>: nothing acknowledged lost, nothing half-stored.</summary>
public static class AcknowledgedWrites
{
    /// <summary>
    /// On every instance (each given <paramref name="bound"/> to apply the feed): every acknowledged task is served
    /// with at least its acknowledged revision and its whole description; every task refused with 503 and never
    /// acknowledged is either absent or whole (a commit whose answer was lost with the connection may have landed).
    /// </summary>
    public static async Task AssertAllPresentAsync(AcknowledgedWriteLoad load, IEnumerable<ServerProcess> instances, TimeSpan bound)
    {
        foreach (ServerProcess instance in instances)
        {
            foreach ((string id, long revision) in load.Acknowledged)
            {
                JsonElement task = await WaitForAsync(instance, id, bound);
                Assert.True(task.GetProperty("revision").GetInt64() >= revision, $"{id} on port {instance.Port}: revision {task.GetProperty("revision")} < acknowledged {revision}");
                Assert.Equal(AcknowledgedWriteLoad.DescriptionOf(id), task.Str("description"));
            }

            foreach (string id in load.RefusedOnly)
            {
                using HttpResponseMessage answer = await instance.Client.GetAsync($"/api/tasks/{id}", TestContext.Current.CancellationToken);
                Assert.True(answer.StatusCode is HttpStatusCode.OK or HttpStatusCode.NotFound, $"GET {id}: {(int)answer.StatusCode}");
                if (answer.StatusCode == HttpStatusCode.OK)
                {
                    Assert.Equal(AcknowledgedWriteLoad.DescriptionOf(id), (await answer.JsonAsync()).Str("description"));
                }
            }
        }
    }

    private static async Task<JsonElement> WaitForAsync(ServerProcess instance, string id, TimeSpan bound)
    {
        DateTime deadline = DateTime.UtcNow + bound;
        while (true)
        {
            using HttpResponseMessage answer = await instance.Client.GetAsync($"/api/tasks/{id}", TestContext.Current.CancellationToken);
            if (answer.StatusCode == HttpStatusCode.OK)
            {
                return await answer.JsonAsync();
            }

            Assert.True(answer.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.ServiceUnavailable, $"GET {id} on port {instance.Port}: {(int)answer.StatusCode} {await answer.TextAsync()}");
            Assert.True(DateTime.UtcNow < deadline, $"Acknowledged task {id} is not served by the instance on port {instance.Port} within {bound}:\n{instance.Output}");
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
    }
}
