namespace StatePersistence.Server.Tests.Support;

/// <summary>
/// A test class of one in-process server (on its own empty state directory) and a client of it, made for each test
/// and disposed after it. A class that needs items before each test overrides <see cref="InitializeAsync"/>.
/// </summary>
public abstract class ServerRouteTests : IAsyncLifetime
{
    protected ServerRouteTests() => Client = Server.Client();

    protected StateServerFactory Server { get; } = new();

    protected HttpClient Client { get; }

    public virtual ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
        GC.SuppressFinalize(this);
    }
}
