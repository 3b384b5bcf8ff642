using System.Globalization;
using System.Text;

namespace StatePersistence.Server.Metrics;

/// <summary>
/// The Prometheus text exposition format (0.0.4), with OpenTelemetry's name translation: dots become underscores,
/// the unit becomes a suffix (<c>s</c> → <c>_seconds</c>, <c>By</c> → <c>_bytes</c>, <c>{file}</c> → none) and
/// counters end in <c>_total</c>.
/// </summary>
internal static class PrometheusText
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    public static string Name(string instrument, string? unit, MetricType type)
    {
        var name = new StringBuilder(Sanitize(instrument));
        string suffix = unit switch
        {
            null or "" or "1" => "",
            "s" => "seconds",
            "ms" => "milliseconds",
            "By" => "bytes",
            _ when unit.StartsWith('{') => "",
            _ => Sanitize(unit),
        };
        if (suffix.Length > 0 && !name.ToString().EndsWith("_" + suffix, StringComparison.Ordinal))
        {
            name.Append('_').Append(suffix);
        }

        if (type == MetricType.Counter)
        {
            name.Append("_total");
        }

        return name.ToString();
    }

    /// <summary>Renders tags as <c>{a="x",b="y"}</c>, sorted by key so one label set is always one series.</summary>
    public static string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.IsEmpty)
        {
            return "";
        }

        var pairs = new List<(string Key, string Value)>(tags.Length);
        foreach (KeyValuePair<string, object?> tag in tags)
        {
            pairs.Add((Sanitize(tag.Key), Convert.ToString(tag.Value, CultureInfo.InvariantCulture) ?? ""));
        }

        pairs.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        return "{" + string.Join(",", pairs.Select(p => $"{p.Key}=\"{EscapeLabel(p.Value)}\"")) + "}";
    }

    public static string Write(IEnumerable<MetricFamily> families)
    {
        var text = new StringBuilder();
        foreach (MetricFamily family in families)
        {
            if (!string.IsNullOrEmpty(family.Help))
            {
                text.Append("# HELP ").Append(family.Name).Append(' ').Append(family.Help.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal)).Append('\n');
            }

            text.Append("# TYPE ").Append(family.Name).Append(' ').Append(family.Type.ToString().ToLowerInvariant()).Append('\n');
            foreach ((string labels, Series series) in family.Series)
            {
                if (family.Type == MetricType.Histogram)
                {
                    WriteHistogram(text, family.Name, family.Bounds, labels, series);
                }
                else
                {
                    Sample(text, family.Name, labels, series.Value);
                }
            }
        }

        return text.ToString();
    }

    private static void WriteHistogram(StringBuilder text, string name, double[] bounds, string labels, Series series)
    {
        long cumulative = 0;
        for (int i = 0; i < bounds.Length; i++)
        {
            cumulative += series.Buckets![i];
            Sample(text, name + "_bucket", WithLe(labels, Number(bounds[i])), cumulative);
        }

        Sample(text, name + "_bucket", WithLe(labels, "+Inf"), series.Count);
        Sample(text, name + "_sum", labels, series.Sum);
        Sample(text, name + "_count", labels, series.Count);
    }

    private static string WithLe(string labels, string bound) =>
        labels.Length == 0 ? $"{{le=\"{bound}\"}}" : $"{labels[..^1]},le=\"{bound}\"}}";

    private static void Sample(StringBuilder text, string name, string labels, double value) =>
        text.Append(name).Append(labels).Append(' ').Append(Number(value)).Append('\n');

    private static string Number(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        _ when double.IsNaN(value) => "NaN",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };

    private static string Sanitize(string name)
    {
        var builder = new StringBuilder(name.Length);
        foreach (char c in name)
        {
            builder.Append(char.IsAsciiLetterOrDigit(c) || c is '_' or ':' ? c : '_');
        }

        return builder.ToString();
    }

    private static string EscapeLabel(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
}
