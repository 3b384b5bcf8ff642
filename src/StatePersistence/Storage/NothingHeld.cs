namespace StatePersistence.Storage;

/// <summary>The hold of a store that has nothing to hold back (<see cref="IStateBlobStore.HoldSessionLogAppendsAsync"/>'s default).</summary>
internal sealed class NothingHeld : IAsyncDisposable
{
    public static NothingHeld Instance { get; } = new();

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
