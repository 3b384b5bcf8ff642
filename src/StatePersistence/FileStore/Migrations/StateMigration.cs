namespace StatePersistence.FileStore.Migrations;

/// <summary>
/// One step of the migration chain: turns a state directory of format <see cref="From"/> into format <see cref="To"/>.
/// A step only changes files through its <see cref="MigrationContext"/>, after the pre-migration backup of every file
/// is durable, and says in the context's log what it changed (counts, files, anything skipped and why). A step may
/// leave the final state for the store's recovery to read: the runner rewrites <c>state.json</c> at the chain's last
/// version with a checkpoint once every step has run (the version update), then validates the result.
/// </summary>
internal abstract class StateMigration
{
    /// <summary>The format version this step reads (the version <c>state.json</c> of such a directory says).</summary>
    public abstract string From { get; }

    /// <summary>The format version this step leaves.</summary>
    public abstract string To { get; }

    /// <summary>What the step does, one line, for the log and <c>statectl migrate status</c>.</summary>
    public abstract string Description { get; }

    /// <summary>Transforms the directory. Throws on a failure the directory cannot be migrated past.</summary>
    public abstract void Apply(MigrationContext context);
}
