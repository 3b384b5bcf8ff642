using StatePersistence.Commit;
using StatePersistence.Errors;
using StatePersistence.Ids;
using StatePersistence.Model;
using StatePersistence.Serialization;
using StatePersistence.Storage;

namespace StatePersistence.Service.Items;

/// <summary>
/// A task stored whole in place of the one with its id (or created), without parsing the version it replaces: all a
/// replace takes from that version is its revision and its <c>created_at</c>, which the in-memory item carries
/// (<see cref="StoredItem.CreatedAt"/>). An update would parse it to change it, which for a whole-task replace is most
/// of the work spent on the stored side.
/// </summary>
internal sealed partial class ItemOperations
{
    public async ValueTask<ItemReplacement> ReplaceTaskAsync(AgentTask task, ExpectedRevision expected, Action<AgentTask, bool>? check,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(task);
        ItemKind<AgentTask> kind = ItemKind<AgentTask>.Tasks;
        string id = task.Id;
        StateId.Validate(id, kind.Name);
        AgentTask given = redaction.Redacted(task);
        while (true)
        {
            StateChange? sent = null;
            try
            {
                // A check that refuses a copy trailing another instance's change (over a shared store, a task created
                // there a moment ago reads here as a create, which a quota on creates refuses) runs again on the store's
                // version: the pipeline decides every refusal there (CheckAheadOfTheFeedTests).
                long revision = await commits.CommitIfUnchangedAsync(kind.Name, task: true, kind.Map, id, current =>
                {
                    // Set only once the check passed: a conflict the check raises is the caller's, not the store's.
                    sent = null;
                    // Over a shared store this instance's version may trail the store's: the store checks what is sent.
                    if (!commits.Shared)
                    {
                        ThrowUnlessMet(kind, current, id, expected);
                    }

                    // A replace of "whatever is there" is sent as a replace of the version it read (or a create when
                    // it read none), so that a store of several writers refuses it when another instance got there
                    // first, and the answer's Created and created_at are never decided on a version that was gone.
                    // What is sent says whether it creates: only a write expecting the task absent can.
                    ExpectedRevision sending = !expected.IsAny ? expected
                        : current is null ? ExpectedRevision.Absent : ExpectedRevision.Exactly(current.Revision);
                    AgentTask stored = WithCreatedAt(given, current?.CreatedAt);
                    StateChange change = kind.Change(stored) with { Expected = sending };
                    check?.Invoke(stored, sending.IsAbsent);
                    sent = change;
                    return change;
                }, cancellationToken).ConfigureAwait(false);
                StoredItem item = ItemRevision.Stamp(sent!.Item!, revision, ChangeKind.PutTask);
                return new ItemReplacement(id, revision, sent.Expected.IsAbsent, item.Json);
            }
            catch (StateConflictException conflict) when (conflicts.Resolves(expected))
            {
                if (conflicts.Policy == ConflictPolicy.LastWriterWins)
                {
                    expected = ExpectedRevision.Any;
                    continue;
                }

                // The merge callback may change what it is given: a copy, never the caller's task.
                AgentTask attempted = WithCreatedAt(ItemCodec.DeserializeTask(ItemCodec.Serialize(given)), (conflict.Current as AgentTask)?.CreatedAt);
                if (conflicts.Merge(kind, conflict, attempted) is not { } merged)
                {
                    throw;
                }

                check?.Invoke(merged.Merged, false);
                // A merge made again on a later conflict is checked again: before 2026-12-07 only the first was, so a
                // quota the caller's check enforces could be passed by the second (ConflictPolicyTests).
                (long mergedRevision, AgentTask stored) = await SaveResolvingAsync(kind, merged.Merged, merged.Expected, cancellationToken,
                    check is null ? null : remerged => check(remerged, false)).ConfigureAwait(false);
                StoredItem item = ItemRevision.Stamp(kind.Change(stored).Item!, mergedRevision, ChangeKind.PutTask);
                return new ItemReplacement(id, mergedRevision, false, item.Json);
            }
            catch (StateConflictException conflict) when (expected.IsAny && commits.Shared && sent is not null)
            {
                // The store holds another version than this instance read: another instance changed, created or
                // deleted the task. Apply that first (a deletion is newer than the version read), then decide again.
                long? newer = conflict.CurrentRevision ?? (sent.Expected.Revision + 1);
                if (newer is not { } reached)
                {
                    throw;
                }

                await commits.WaitForItemBeforeWriteAsync(kind.Name, task: true, id, reached, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// <paramref name="task"/> when it has a <c>created_at</c>; otherwise a copy with the replaced version's, or, for a
    /// task created (or a version without one), its <c>updated_at</c> (a new task was created when it was last
    /// updated), or the time of the write when it has none either. The caller's object is never changed.
    /// </summary>
    private AgentTask WithCreatedAt(AgentTask task, DateTimeOffset? replacedCreatedAt)
    {
        if (task.CreatedAt is not null)
        {
            return task;
        }

        AgentTask copy = task.ShallowCopy();
        copy.CreatedAt = replacedCreatedAt ?? task.UpdatedAt ?? time.GetUtcNow();
        return copy;
    }
}
