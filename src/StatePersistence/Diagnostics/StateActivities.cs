using System.Diagnostics;

namespace StatePersistence.Diagnostics;

/// <summary>
/// The <c>StatePersistence</c> activity source: a trace of each save (its wait for the group commit, the journal
/// append and the fsync), each checkpoint and the start-up recovery. Activities are created only while something
/// listens (OpenTelemetry's <c>AddSource(StateActivities.SourceName)</c>), so an untraced save pays one check.
/// </summary>
public static class StateActivities
{
    /// <summary>The activity source's name.</summary>
    public const string SourceName = "StatePersistence";

    /// <summary>A durable save of one task, session or task log entry; tagged <c>statepersistence.kind</c>.</summary>
    public const string Save = "statepersistence.save";

    /// <summary>The wait of one save for the group commit that makes it durable (it may lead or join a group).</summary>
    public const string CommitWait = "statepersistence.commit.wait";

    /// <summary>One journal append of a commit group, write and fsync included; tagged with the group's size.</summary>
    public const string JournalAppend = "statepersistence.journal.append";

    /// <summary>The fsync of a journal append under Full durability.</summary>
    public const string JournalFsync = "statepersistence.journal.fsync";

    /// <summary>A snapshot (checkpoint): the item files and <c>state.json</c> written durably.</summary>
    public const string Checkpoint = "statepersistence.checkpoint";

    /// <summary>Start-up recovery: the store opened and the state loaded.</summary>
    public const string Recovery = "statepersistence.recovery";

    /// <summary>The source every activity above comes from (listeners subscribe by <see cref="SourceName"/>).</summary>
    internal static ActivitySource Source { get; } = new(SourceName);
}
