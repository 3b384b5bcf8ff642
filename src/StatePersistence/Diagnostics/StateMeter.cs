namespace StatePersistence.Diagnostics;

/// <summary>
/// The name of the library's meter, for OpenTelemetry's <c>AddMeter(StateMeter.Name)</c> or a
/// <see cref="System.Diagnostics.Metrics.MeterListener"/>. Its instruments (<c>statepersistence.save.duration</c>,
/// <c>statepersistence.files</c>, ...) are listed in the README; the meter is created from the application's
/// <see cref="System.Diagnostics.Metrics.IMeterFactory"/> when one is given.
/// </summary>
public static class StateMeter
{
    /// <summary>The meter's name.</summary>
    public const string Name = "StatePersistence";
}
