using System.Globalization;
using System.Text.RegularExpressions;
using StatePersistence.Benchmarks.Harness;

namespace StatePersistence.Benchmarks.Cases.Http;

/// <summary>Reads the summary <c>wrk --latency</c> prints.</summary>
public static partial class WrkSummary
{
    /// <summary>Reads wrk's summary; a non-2xx answer or a socket error fails the case rather than flatter it.</summary>
    public static ExternalRound Parse(string output)
    {
        if (NonSuccess().Match(output) is { Success: true } refused)
        {
            throw new InvalidDataException($"wrk saw {refused.Groups[1].Value} non-2xx answers: {output}");
        }

        if (SocketErrors().Match(output) is { Success: true } socket)
        {
            throw new InvalidDataException($"wrk saw socket errors ({socket.Value}): {output}");
        }

        Match total = Total().Match(output);
        Match latency = LatencyLine().Match(output);
        if (!total.Success || !latency.Success)
        {
            throw new InvalidDataException("Unexpected wrk output: " + output);
        }

        return new ExternalRound(long.Parse(total.Groups[1].Value, CultureInfo.InvariantCulture),
            Micros(total.Groups[2].Value, "s") / 1e6, Percentile(output, "50%"), Percentile(output, "99%"), Micros(latency.Groups[1].Value, latency.Groups[2].Value));
    }

    private static double Percentile(string output, string which) =>
        Regex.Match(output, $@"^\s*{Regex.Escape(which)}\s+([\d.]+)(us|ms|s)\s*$", RegexOptions.Multiline) is { Success: true } m
            ? Micros(m.Groups[1].Value, m.Groups[2].Value)
            : throw new InvalidDataException($"wrk printed no {which} latency: {output}");

    private static double Micros(string value, string unit) => double.Parse(value, CultureInfo.InvariantCulture) * unit switch
    {
        "us" => 1,
        "ms" => 1e3,
        "s" => 1e6,
        "m" => 60e6,
        _ => throw new InvalidDataException("Unknown wrk time unit: " + unit),
    };

    [GeneratedRegex(@"Non-2xx or 3xx responses:\s*(\d+)")]
    private static partial Regex NonSuccess();

    [GeneratedRegex(@"Socket errors:[^\n]*")]
    private static partial Regex SocketErrors();

    [GeneratedRegex(@"(\d+) requests in ([\d.]+)s")]
    private static partial Regex Total();

    [GeneratedRegex(@"^\s*Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s|m)\s", RegexOptions.Multiline)]
    private static partial Regex LatencyLine();
}
