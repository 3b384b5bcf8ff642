namespace StatePersistence.Service.Checkpoints;

/// <summary>
/// What an interval option that drives a background loop may be: 0 turns the loop off, anything else is the period of
/// a <see cref="PeriodicTimer"/>, which takes 1 ms to 4,294,967,294 ms (49.7 days) and throws an exception naming
/// only its own parameter otherwise. Checked with the other options, before anything is opened, so the message names
/// the option.
/// </summary>
internal static class TimerInterval
{
    /// <summary>The longest period a <see cref="PeriodicTimer"/> accepts, in milliseconds.</summary>
    private const long MaxMilliseconds = uint.MaxValue - 1L;

    /// <summary>The problem with <paramref name="value"/> for the option <paramref name="name"/>, or null.</summary>
    public static string? Problem(string name, TimeSpan value, string zeroMeans)
    {
        if (value < TimeSpan.Zero)
        {
            return $"{name} must not be negative (was {value}); 0 {zeroMeans}.";
        }

        long milliseconds = (long)value.TotalMilliseconds;
        if (value > TimeSpan.Zero && milliseconds < 1)
        {
            return $"{name} must be at least 1 ms (was {value}); 0 {zeroMeans}.";
        }

        return milliseconds > MaxMilliseconds
            ? $"{name} must be at most 49.7 days, {MaxMilliseconds:N0} ms, the longest a .NET timer waits (was {value}); 0 {zeroMeans}."
            : null;
    }
}
