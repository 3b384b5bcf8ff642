namespace StatePersistence.Benchmarks.Results;

/// <summary>
/// One measurable check of a goal of issue 5, as written to <c>goals</c> in <c>latest.json</c>. A goal with several
/// conditions has several checks (<c>1a</c>, <c>1b</c>); it is met when all of them are.
/// </summary>
public sealed class GoalCheck
{
    /// <summary>The goal's number in issue 5, 1 to 6.</summary>
    public required int Goal { get; init; }

    /// <summary>The check's id, the goal number and a letter (<c>2c</c>).</summary>
    public required string Check { get; init; }

    /// <summary>What is compared, in words.</summary>
    public required string Description { get; init; }

    /// <summary>The numerator, <c>case metric</c>.</summary>
    public required string Numerator { get; init; }

    /// <summary>The denominator, <c>case metric</c>.</summary>
    public required string Denominator { get; init; }

    /// <summary>Numerator over denominator; null while pending.</summary>
    public double? Ratio { get; init; }

    /// <summary>The bound the ratio must reach; null when issue 5 states no number (the ratio is then for a reader).</summary>
    public double? Target { get; init; }

    /// <summary><c>at_least</c> or <c>at_most</c>: which side of <see cref="Target"/> meets the goal.</summary>
    public required string Comparison { get; init; }

    /// <summary>Whether the ratio meets the target; null while pending or without a target.</summary>
    public bool? Met { get; init; }

    /// <summary>Why the check could not be computed (<c>needs case sp-save-full/1w</c>); null once computed.</summary>
    public string? Pending { get; init; }
}
