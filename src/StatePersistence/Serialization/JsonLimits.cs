namespace StatePersistence.Serialization;

/// <summary>
/// Nesting limits, kept in one place so that what is accepted always reads back (issue 10 item 6). An item is
/// accepted, journaled and read with System.Text.Json's default depth; every file that embeds items reads with room
/// for the levels it adds around them.
/// </summary>
internal static class JsonLimits
{
    /// <summary>The deepest task or session accepted and read (System.Text.Json's default, 64).</summary>
    public const int ItemMaxDepth = 64;

    /// <summary>A snapshot or backup: the root object and the <c>tasks</c>/<c>sessions</c> array around each item.</summary>
    public const int SnapshotMaxDepth = ItemMaxDepth + 2;
}
