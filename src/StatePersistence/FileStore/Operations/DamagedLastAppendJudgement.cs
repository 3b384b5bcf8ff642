namespace StatePersistence.FileStore.Operations;

/// <summary>
/// How a read beside a running server judges a session log whose last append is whole (length and trailer hold) but
/// fails its checksum (<see cref="LogScan.DamagedLastAppend"/>): damage at rest, or an append in flight. An append in
/// flight shows as a prefix of its frame, which looks whole only if its text holds a frame trailer at just that length;
/// such a write ends within the moment. So the log is read again after <see cref="SettleTime"/>: damage at rest is
/// still there (as the last append, or between valid ones once another append followed it). <c>statectl verify</c>
/// (<see cref="SessionLogChecks"/>) lists it then, and <c>statectl export</c> (<see cref="SessionLogExport"/>) leaves
/// it out of the copy and names it.
/// </summary>
internal static class DamagedLastAppendJudgement
{
    /// <summary>How long a session log whose last append looks damaged is left before it is read again.</summary>
    public static readonly TimeSpan SettleTime = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// The scan to go by: <paramref name="scan"/> when its last append is not suspect, else what
    /// <paramref name="readAgain"/> reads after <see cref="SettleTime"/> (through <paramref name="pause"/>); null when
    /// that read found nothing to check (the log gone, say). <paramref name="stillDamaged"/> is the suspect append when
    /// the read again found it still the last append, still failing; else null (it completed, changed, or is gone).
    /// </summary>
    public static LogScan? Settle(LogScan scan, Func<LogScan?> readAgain, Action<TimeSpan> pause, out (long Offset, long Length)? stillDamaged)
    {
        stillDamaged = null;
        if (scan.DamagedLastAppend is not { } suspect)
        {
            return scan;
        }

        pause(SettleTime);
        LogScan? again = readAgain();
        if (again?.DamagedLastAppend == suspect)
        {
            stillDamaged = suspect;
        }

        return again;
    }

    /// <summary>What is wrong with the still damaged last <paramref name="append"/>, as a problem's text begins.</summary>
    public static string Problem((long Offset, long Length) append) =>
        $"the last append (bytes {append.Offset}..{append.Offset + append.Length - 1}) is whole but fails its checksum: damage, not a torn append";
}
