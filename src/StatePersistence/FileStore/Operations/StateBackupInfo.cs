namespace StatePersistence.FileStore.Operations;

/// <summary>
/// One <c>state.backup.&lt;timestamp&gt;.json</c> file as <see cref="StateBackups.List"/> found it. <see cref="Time"/>
/// is the timestamp in its name (when it stopped being <c>state.json</c>); <see cref="LastSaved"/>, the revision and
/// the counts come from its content, and are null when it does not parse (<see cref="Problem"/> says why).
/// </summary>
public sealed record StateBackupInfo(string Name, DateTimeOffset Time, long Bytes, long? Revision, DateTimeOffset? LastSaved,
    int? Tasks, int? Sessions, string? Problem)
{
    /// <summary>Whether the backup parses and its checksum holds: only such a backup can be restored.</summary>
    public bool Parses => Problem is null;
}
