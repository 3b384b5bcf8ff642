using System.Globalization;

namespace StatePersistence.Cli.Commands.Watch;

/// <summary>
/// How long watch waits for the next byte of the stream before taking the connection as lost. Given with
/// <c>--idle-timeout</c>, that, always. Otherwise four of the heartbeat intervals the server announces in its first
/// comment (<c>: connected heartbeat=&lt;ms&gt;</c>), the same ratio as the default to the server's default: a fixed
/// bound took a healthy idle stream of a server with a longer <c>EventsHeartbeat</c> for a lost one. A server that
/// announces nothing (one from before 2026-12-08) keeps the default.
/// </summary>
internal sealed class IdleBound(TimeSpan given, bool explicitlyGiven)
{
    /// <summary>Heartbeats missed in a row before the connection is taken as lost.</summary>
    public const int HeartbeatsMissed = 4;

    private const string Announcement = ": connected ";

    private const string HeartbeatField = "heartbeat=";

    /// <summary>
    /// The shortest bound an announcement gives: below it a pause of this process (a garbage collection, a busy machine)
    /// or a retransmission on the way could outlast a bound of a few short heartbeats on a healthy stream.
    /// </summary>
    private static readonly TimeSpan Shortest = TimeSpan.FromSeconds(1);

    /// <summary>The longest a .NET timer waits (49.7 days): a longer announced bound is cut to it, not refused.</summary>
    private static readonly TimeSpan Longest = TimeSpan.FromMilliseconds(uint.MaxValue - 1L);

    /// <summary>The bound now: the option's until the server announces its heartbeat, when the option was not given.</summary>
    public TimeSpan Current { get; private set; } = given;

    /// <summary>The heartbeat interval the server announced, when <see cref="Current"/> follows it.</summary>
    public TimeSpan? Heartbeat { get; private set; }

    /// <summary>Takes the server's announcement from a comment line of the stream; any other comment changes nothing.</summary>
    public void OnComment(string line)
    {
        if (explicitlyGiven || !TryReadHeartbeat(line, out TimeSpan heartbeat))
        {
            return;
        }

        Heartbeat = heartbeat;
        TimeSpan bound = heartbeat * HeartbeatsMissed;
        Current = bound < Shortest ? Shortest : bound > Longest ? Longest : bound;
    }

    /// <summary>
    /// The interval of <c>: connected heartbeat=&lt;ms&gt;</c>: whole milliseconds above 0, among other words the
    /// comment may carry later; anything else is no announcement, so a server that sends something unexpected keeps the
    /// default rather than a bound read from it.
    /// </summary>
    private static bool TryReadHeartbeat(string line, out TimeSpan heartbeat)
    {
        heartbeat = default;
        if (!line.StartsWith(Announcement, StringComparison.Ordinal))
        {
            return false;
        }

        foreach (string word in line[Announcement.Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (word.StartsWith(HeartbeatField, StringComparison.Ordinal)
                && long.TryParse(word.AsSpan(HeartbeatField.Length), NumberStyles.None, CultureInfo.InvariantCulture, out long milliseconds)
                && milliseconds > 0)
            {
                // Cut before it is multiplied, so that no number a server sends overflows the bound.
                heartbeat = TimeSpan.FromMilliseconds(Math.Min(milliseconds, (long)Longest.TotalMilliseconds));
                return true;
            }
        }

        return false;
    }
}
