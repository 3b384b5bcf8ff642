using System.Runtime.CompilerServices;
using StatePersistence.Commit;
using StatePersistence.InMemory;
using StatePersistence.Recovery;
using StatePersistence.Storage;

namespace StatePersistence.Tests.Support;

/// <summary>
/// The in-memory store (<see cref="Inner"/>, also the blob store to give the service) whose change feed
/// subscription delivers nothing until cancelled: the feed behind the saves, as a busy one can be for a moment. The
/// changes are still there to read (<see cref="ReadChangesAsync"/>).
/// </summary>
internal sealed class LaggingFeedStore() : DelegatingStateStore<InMemoryStateStore>(new InMemoryStateStore())
{
    public override async IAsyncEnumerable<CommittedGroup> SubscribeAsync(long afterPosition, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await Task.Delay(Timeout.Infinite, cancellationToken);
        yield break;
    }
}
