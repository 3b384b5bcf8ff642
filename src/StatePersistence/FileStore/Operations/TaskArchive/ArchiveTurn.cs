using StatePersistence.Retention;

namespace StatePersistence.FileStore.Operations.TaskArchive;

/// <summary>
/// An archive run's or restore's turn: the store's archive lock (<see cref="ITaskArchiveStore.AcquireTaskArchiveLockAsync"/>),
/// then, over a shared store, a state caught up with every change committed before the lock was had
/// (<see cref="StatePersistenceService.CatchUpWithFeedAsync"/>). Runs of several instances take turns, and each decides
/// on what the one before it left, not on a copy the feed has not brought up to date. A run that finds the lock held
/// logs who holds it before it waits, and how long it waited once its turn comes.
/// </summary>
internal static class ArchiveTurn
{
    public static async Task<IAsyncDisposable> TakeAsync(StatePersistenceService service, ITaskArchiveStore archives, CancellationToken cancellationToken)
    {
        // Asked before the wait, not during it: once the request is in, the holder found may be this run itself. A
        // holder done in between makes a notice followed at once by the turn, never a wait unannounced.
        string? holder = await archives.DescribeTaskArchiveLockHolderAsync(cancellationToken).ConfigureAwait(false);
        long waitStarted = service.Time.GetTimestamp();
        if (holder is not null)
        {
            service.Events.ArchiveTurnAwaited(holder);
        }

        IAsyncDisposable turn = await archives.AcquireTaskArchiveLockAsync(cancellationToken).ConfigureAwait(false);
        if (holder is not null)
        {
            service.Events.ArchiveTurnTaken(service.Time.GetElapsedTime(waitStarted));
        }

        try
        {
            await service.CatchUpWithFeedAsync(cancellationToken).ConfigureAwait(false);
            return turn;
        }
        catch
        {
            await turn.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
