using System.CommandLine;
using System.Globalization;

namespace StatePersistence.Cli.Commands.Watch;

/// <summary>
/// The options bounding how long <c>statectl watch</c> waits on the server, in seconds: without them a port that accepts
/// and never answers, or a connection that died without a reset (a partition), kept it waiting silently for ever.
/// </summary>
internal static class WatchBound
{
    /// <summary>The longest bound taken: a day is already far past any proxy's buffering, and keeps the timer in range.</summary>
    private const double MaxSeconds = 86_400;

    /// <param name="defaultText">The default as help says it, when it is more than <paramref name="defaultSeconds"/>.</param>
    public static Option<TimeSpan> Create(string name, double defaultSeconds, string description, string? defaultText = null)
    {
        var option = new Option<TimeSpan>(name)
        {
            Description = $"{description} (default {defaultText ?? defaultSeconds.ToString(CultureInfo.InvariantCulture)}).",
            HelpName = "SECONDS",
            DefaultValueFactory = _ => TimeSpan.FromSeconds(defaultSeconds),
        };

        // Parsed here so that a bad value is bad usage naming the option (exit 2), not a stack trace.
        option.CustomParser = result =>
        {
            if (result.Tokens.Count == 0)
            {
                return TimeSpan.FromSeconds(defaultSeconds);
            }

            string text = result.Tokens[^1].Value;
            if (!double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double seconds)
                || !double.IsFinite(seconds) || seconds <= 0 || seconds > MaxSeconds)
            {
                result.AddError($"{name} '{text}' is not a number of seconds from more than 0 up to {MaxSeconds.ToString(CultureInfo.InvariantCulture)} (such as 30 or 2.5).");
                return TimeSpan.FromSeconds(defaultSeconds);
            }

            return TimeSpan.FromSeconds(seconds);
        };
        return option;
    }

    public static string Describe(TimeSpan bound) => bound.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s";
}
