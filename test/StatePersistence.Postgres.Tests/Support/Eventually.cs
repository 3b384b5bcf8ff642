namespace StatePersistence.Postgres.Tests.Support;

/// <summary>Waits for what a background pass or another connection does, polling its condition; 30 s, then the test fails.</summary>
internal static class Eventually
{
    public static async Task UntilAsync(Func<Task<bool>> condition)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        while (!await condition())
        {
            await Task.Delay(20, timeout.Token);
        }
    }

    public static Task UntilAsync(Func<bool> condition) => UntilAsync(() => Task.FromResult(condition()));
}
