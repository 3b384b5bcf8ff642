using StatePersistence.Commit;
using StatePersistence.Errors;
using StatePersistence.Ids;
using StatePersistence.Model;
using StatePersistence.Service.Commits;
using StatePersistence.Storage;

namespace StatePersistence.Service.Items;

/// <summary>
/// Saves, creates, updates and deletes of one task or session, each decided on the latest state inside the commit
/// (so concurrent callers never lose each other's updates) and carrying the revision it expects the item at, so the
/// store can refuse it when another writer got there first. A refusal (a conflict, an id taken, an item not found)
/// stands only on the durable version of the item, never on one a commit still pending made (<see cref="UnsettledRefusal"/>).
/// The caller's object is never changed (its revision is ignored, not overwritten); an object the service returns
/// carries the revision it was stored at. A task's log messages are redacted before it is serialized
/// (<see cref="TaskLogRedaction"/>).
/// </summary>
internal sealed partial class ItemOperations(CommitPipeline commits, ConflictResolution conflicts, TaskLogRedaction redaction, TimeProvider time)
{
    public async ValueTask SaveAsync<T>(ItemKind<T> kind, T item, ExpectedRevision expected, CancellationToken cancellationToken)
        where T : class =>
        await SaveResolvingAsync(kind, item, expected, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// A put expecting <paramref name="expected"/>; a conflict is refused or resolved as the conflict policy says (a
    /// merged item that meets a newer version is merged again, and <paramref name="checkMerged"/>, the caller's check,
    /// judges each merge again before it is stored). Returns the revision and the item stored.
    /// </summary>
    private async ValueTask<(long Revision, T Item)> SaveResolvingAsync<T>(ItemKind<T> kind, T item, ExpectedRevision expected,
        CancellationToken cancellationToken, Action<T>? checkMerged = null)
        where T : class
    {
        item = redaction.Redacted(item);
        StateChange change = kind.Change(item) with { Expected = expected };
        while (true)
        {
            try
            {
                long revision = await commits.CommitAsync(kind.Name, change.Id, (view, c) =>
                {
                    // Over a shared store this view may trail the store's: the store checks, and its refusal carries
                    // the current item.
                    if (!commits.Shared)
                    {
                        ThrowUnlessMet(kind, view, c.Id, c.Expected);
                    }

                    return [c];
                }, change, cancellationToken).ConfigureAwait(false);
                return (revision, item);
            }
            catch (StateConflictException conflict) when (conflicts.Resolves(expected))
            {
                if (conflicts.Policy == ConflictPolicy.LastWriterWins)
                {
                    change = change with { Expected = ExpectedRevision.Any };
                    continue;
                }

                if (conflicts.Merge(kind, conflict, item) is not { } merged)
                {
                    throw;
                }

                (item, expected) = merged;
                item = redaction.Redacted(item);
                checkMerged?.Invoke(item);
                change = kind.Change(item) with { Expected = expected };
            }
        }
    }

    public ValueTask<bool> CreateAsync<T>(ItemKind<T> kind, T item, CancellationToken cancellationToken)
        where T : class
    {
        // Serialized (and validated) before the call returns, as before: a bad id throws here, not in the task.
        StateChange change = kind.Change(redaction.Redacted(item)) with { Expected = ExpectedRevision.Absent };
        return CreateAsync(kind, change, cancellationToken);
    }

    private async ValueTask<bool> CreateAsync<T>(ItemKind<T> kind, StateChange change, CancellationToken cancellationToken)
        where T : class
    {
        while (true)
        {
            try
            {
                if (await commits.CommitAsync(kind.Name, change.Id, (view, c) => IdTaken(kind, view, c.Id) ? null : [c], change, cancellationToken)
                    .ConfigureAwait(false) > 0)
                {
                    return true;
                }
            }
            catch (StateConflictException conflict) when (commits.Shared)
            {
                // Another instance created it first (or this instance did, in a commit whose answer was lost with its
                // connection), before this one had applied that: taken, as when this view knew it. The instance applies
                // it before answering, so a caller that goes on to update it (a PUT replacing after a refused create)
                // finds it here rather than racing the feed and concluding it was deleted.
                if (conflict.CurrentRevision is { } current)
                {
                    await commits.WaitForItemBeforeWriteAsync(kind.Name, IsTask(kind), change.Id, current, cancellationToken).ConfigureAwait(false);
                }

                return false;
            }

            // This view held the id. Over a shared store that copy may trail another instance's delete of it: then the
            // deletion is applied (here, or by the feed meanwhile) and the create tried again; otherwise it is taken.
            // (Over a shared store the latest view is the durable one, so the check below reads what the builder read.)
            if (!commits.Shared
                || (!await commits.CatchUpBeforeWriteAsync(kind.Name, IsTask(kind), change.Id, cancellationToken).ConfigureAwait(false)
                    && kind.Map(commits.Durable).ContainsKey(change.Id)))
            {
                return false;
            }
        }
    }

    public async ValueTask<T?> UpdateAsync<T>(ItemKind<T> kind, string id, Action<T> update, ExpectedRevision expected, CancellationToken cancellationToken)
        where T : class
    {
        StateId.Validate(id, kind.Name);
        ArgumentNullException.ThrowIfNull(update);
        RequireExisting(expected);
        T? saved = null;
        long revision;
        while (true)
        {
            try
            {
                revision = await UpdateOnceAsync();
                break;
            }
            catch (StateConflictException conflict) when (conflicts.Resolves(expected))
            {
                if (conflicts.Policy == ConflictPolicy.LastWriterWins)
                {
                    // The update runs again on the current item, whatever its revision.
                    expected = ExpectedRevision.Any;
                    continue;
                }

                // The caller's update applied to the current item is what it attempted; the merge decides from there.
                if (conflict.Current is not T current)
                {
                    throw;
                }

                T attempted = kind.Deserialize(kind.Change(current).Json!);
                update(attempted);
                kind.SetId(attempted, id);
                if (conflicts.Merge(kind, conflict, attempted) is not { } merged)
                {
                    throw;
                }

                (long mergedRevision, T stored) = await SaveResolvingAsync(kind, merged.Merged, merged.Expected, cancellationToken).ConfigureAwait(false);
                kind.SetRevision(stored, mergedRevision);
                return stored;
            }
            catch (StateConflictException conflict) when (expected.IsAny && commits.Shared)
            {
                // Another instance changed the item after this instance's copy (the store refused the update made
                // from it): apply that change, then update again on top of it, so neither update is lost.
                if (conflict.CurrentRevision is not { } newer)
                {
                    return null;
                }

                await commits.WaitForItemBeforeWriteAsync(kind.Name, IsTask(kind), id, newer, cancellationToken).ConfigureAwait(false);
            }
        }

        if (revision == 0)
        {
            return null;
        }

        kind.SetRevision(saved!, revision);
        return saved;

        async ValueTask<long> UpdateOnceAsync()
        {
            // Missing here or at another revision: another instance's change may not have reached this one yet.
            await commits.CatchUpIfUnmetHereAsync(kind.Name, IsTask(kind), id, expected, cancellationToken).ConfigureAwait(false);
            // An update that refuses a copy trailing another instance's change runs again on the store's version: the
            // pipeline decides every refusal there (RefusalAheadOfTheFeedTests).
            return await commits.CommitIfUnchangedAsync(kind.Name, IsTask(kind), kind.Map, id, current =>
            {
                ThrowUnlessMet(kind, current, id, expected);
                if (current is null)
                {
                    return null;
                }

                T item = kind.Deserialize(current.Json);
                string?[]? before = redaction.MessagesBefore(item);
                update(item);
                kind.SetId(item, id);
                redaction.RedactChanged(item, before);
                saved = item;
                return kind.Change(item) with { Expected = ExpectedRevision.Exactly(current.Revision) };
            }, cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask<bool> DeleteAsync<T>(ItemKind<T> kind, string id, ExpectedRevision expected, CancellationToken cancellationToken)
        where T : class
    {
        StateId.Validate(id, kind.Name);
        RequireExisting(expected);
        while (true)
        {
            // As for an update: answer "not found" or a refused If-Match only once caught up with the store.
            await commits.CatchUpIfUnmetHereAsync(kind.Name, IsTask(kind), id, expected, cancellationToken).ConfigureAwait(false);

            try
            {
                return await commits.CommitAsync(kind.Name, id, (view, _) =>
                {
                    ThrowUnlessMet(kind, view, id, expected);
                    if (kind.Map(view).TryGetValue(id, out StoredItem? current))
                    {
                        return [new StateChange(kind.Delete, id, null) { Expected = ExpectedRevision.Exactly(current.Revision) }];
                    }

                    RefuseOnlyOnDurable(kind, id, null);
                    return null;
                }, 0, cancellationToken).ConfigureAwait(false) > 0;
            }
            catch (StateConflictException) when (conflicts.Resolves(expected) && conflicts.Policy == ConflictPolicy.LastWriterWins)
            {
                // A delete under last-writer-wins deletes whatever version is there; a merge has nothing to merge.
                expected = ExpectedRevision.Any;
            }
            catch (StateConflictException conflict) when (expected.IsAny && commits.Shared)
            {
                // As for an update: another instance changed or deleted it first; catch up and decide again.
                if (conflict.CurrentRevision is not { } newer)
                {
                    return false;
                }

                await commits.WaitForItemBeforeWriteAsync(kind.Name, IsTask(kind), id, newer, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static bool IsTask<T>(ItemKind<T> kind)
        where T : class => ReferenceEquals(kind, ItemKind<AgentTask>.Tasks);

    private static void RequireExisting(ExpectedRevision expected)
    {
        if (expected.IsAbsent)
        {
            throw new ArgumentException("An update or delete changes an existing item: it cannot expect the item to be absent.", nameof(expected));
        }
    }

    /// <summary>
    /// In a builder, refuses a conditional write whose expectation the latest state does not meet, with the item as it
    /// is, when that is its durable version (<see cref="RefuseOnlyOnDurable"/>).
    /// </summary>
    private void ThrowUnlessMet<T>(ItemKind<T> kind, StateView view, string id, ExpectedRevision expected)
        where T : class
    {
        StoredItem? current = kind.Map(view).GetValueOrDefault(id);
        if (!expected.IsAny && !expected.IsMetBy(current?.Revision))
        {
            RefuseOnlyOnDurable(kind, id, current);
            ThrowUnlessMet(kind, current, id, expected);
        }
    }

    /// <summary>
    /// In a create's builder, whether the id is taken in the latest state. Only a durable item takes it: one a commit
    /// still pending created may never exist, and the create then waits for that commit's outcome
    /// (<see cref="UnsettledRefusal"/>). A pending change to an item that is durable leaves it taken, whatever its
    /// outcome: no wait.
    /// </summary>
    private bool IdTaken<T>(ItemKind<T> kind, StateView view, string id)
        where T : class
    {
        if (!kind.Map(view).ContainsKey(id))
        {
            return false;
        }

        if (!kind.Map(commits.Durable).ContainsKey(id))
        {
            throw new UnsettledRefusal();
        }

        return true;
    }

    /// <summary>
    /// In a builder about to refuse a write on <paramref name="decidedOn"/> (the item as the latest state holds it,
    /// null when absent): throws <see cref="UnsettledRefusal"/> unless that is the item's durable version.
    /// </summary>
    private void RefuseOnlyOnDurable<T>(ItemKind<T> kind, string id, StoredItem? decidedOn)
        where T : class
    {
        if (!commits.IsDurable(kind.Map, id, decidedOn))
        {
            throw new UnsettledRefusal();
        }
    }

    /// <summary>Refuses a conditional write whose expectation <paramref name="current"/> does not meet.</summary>
    private static void ThrowUnlessMet<T>(ItemKind<T> kind, StoredItem? current, string id, ExpectedRevision expected)
        where T : class
    {
        if (expected.IsAny)
        {
            return;
        }

        if (!expected.IsMetBy(current?.Revision))
        {
            throw new StateConflictException(kind.Name, id, expected, current?.Revision, current is null ? null : kind.Deserialize(current.Json));
        }
    }
}
