using System.Text;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Cli.Tests.Support;

/// <summary>Waiting on a statectl process the test started by hand: what it has written so far, and a condition polled for a while.</summary>
internal static class ProcessWaits
{
    /// <summary>Polls <paramref name="condition"/> for up to 30 s; whether it held.</summary>
    public static async Task<bool> PollAsync(Func<bool> condition)
    {
        for (DateTime end = DateTime.UtcNow.AddSeconds(30); DateTime.UtcNow < end; await Task.Delay(20, Http.Ct))
        {
            if (condition())
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>What <paramref name="output"/> holds so far (appended to by the process's output handler, under its lock).</summary>
    public static string Text(StringBuilder output)
    {
        lock (output)
        {
            return output.ToString();
        }
    }
}
