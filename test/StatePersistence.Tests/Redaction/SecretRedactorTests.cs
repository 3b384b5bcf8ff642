using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using StatePersistence.Diagnostics;
using StatePersistence.Errors;
using StatePersistence.Redaction;

namespace StatePersistence.Tests.Redaction;

/// <summary>The redactor against the corpus, both directions, and against inputs built to make a regex backtrack.</summary>
public sealed class SecretRedactorTests
{
    private static readonly SecretRedactor Redactor = SecretRedactor.Create(new RedactionOptions(), null);

    [Theory]
    [MemberData(nameof(SecretCorpus.OneOfEachKind), MemberType = typeof(SecretCorpus))]
    public void EachKind_IsReplacedByItsMarker_KeepingWhatSurroundsIt(string kind, string text, string expected)
    {
        string redacted = Redactor.Redact(text, "message");

        Assert.Equal(expected, redacted);
        Assert.Contains($"[REDACTED:{kind}]", redacted, StringComparison.Ordinal);
    }

    [Fact]
    public void TheCorpus_HasEveryBuiltInKind()
    {
        IEnumerable<string> covered = SecretCorpus.OneOfEachKind.Select(row => row.Data.Item1).Distinct();

        Assert.Equal(BuiltInSecretPatterns.All.Select(p => p.Kind).Order(StringComparer.Ordinal), covered.Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(SecretCorpus.Documents), MemberType = typeof(SecretCorpus))]
    public void RealisticDocuments_AreRedactedExactly(string name, string text, string expected)
    {
        Assert.False(string.IsNullOrEmpty(name));
        Assert.Equal(expected.ReplaceLineEndings("\n"), Redactor.Redact(text.ReplaceLineEndings("\n"), "log"));
    }

    [Theory]
    [MemberData(nameof(SecretCorpus.LookAlikes), MemberType = typeof(SecretCorpus))]
    public void LookAlikes_SurviveUnchanged(string text)
    {
        Assert.Equal(text, Redactor.Redact(text, "message"));
    }

    [Fact]
    public void RedactingTwice_ChangesNothingMore()
    {
        foreach (TheoryDataRow<string, string, string> row in SecretCorpus.Documents)
        {
            string once = Redactor.Redact(row.Data.Item2, "log");
            Assert.Equal(once, Redactor.Redact(once, "log"));
        }
    }

    [Fact]
    public void EachReplacement_IsCountedByKind_AndNoTagHoldsTheSecret()
    {
        using ServiceProvider services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        using var meter = services.GetRequiredService<IMeterFactory>().Create(StateMeter.Name);
        Counter<long> counter = meter.CreateCounter<long>("statepersistence.redactions");
        using var collector = new MetricCollector<long>(counter);
        SecretRedactor redactor = SecretRedactor.Create(new RedactionOptions(), counter);

        redactor.Redact("a=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 b=ghp_xWPw5k4aXcaT4fNP0UcnZwJUVFk6LO0pINUy password=hunter22", "log");

        IReadOnlyList<CollectedMeasurement<long>> measured = collector.GetMeasurementSnapshot();
        Assert.Equal(2, measured.Where(m => (string?)m.Tags["kind"] == "github-token").Sum(m => m.Value));
        Assert.Equal(1, measured.Where(m => (string?)m.Tags["kind"] == "password").Sum(m => m.Value));
        Assert.All(measured, m => Assert.Equal(["kind"], m.Tags.Keys));
    }

    [Fact]
    public void CustomPatterns_RunAfterTheBuiltInOnes_ReplacingTheirSecretGroupOrTheWholeMatch()
    {
        var options = new RedactionOptions();
        options.Patterns["acme-key"] = "ACME-[A-Z0-9]{12}";
        options.Patterns["employee-id"] = @"employee (?<secret>E\d{6})";
        SecretRedactor redactor = SecretRedactor.Create(options, null);

        Assert.Equal("key [REDACTED:acme-key] for employee [REDACTED:employee-id], password=[REDACTED:password]",
            redactor.Redact("key ACME-7Q2W9E4R1T6Y for employee E123456, password=hunter22", "message"));
    }

    [Theory]
    [InlineData("", "matches the empty text")]
    [InlineData("(unclosed", "is not a valid regular expression")]
    [InlineData("x*", "matches the empty text")]
    public void AnInvalidCustomPattern_IsAProblemNamingTheSetting(string pattern, string problem)
    {
        var options = new StatePersistenceOptions();
        options.Redaction.Patterns["acme-key"] = pattern;

        string reported = Assert.Single(options.Validate());

        Assert.StartsWith("Redaction:Patterns:acme-key ", reported, StringComparison.Ordinal);
        Assert.Contains(pattern.Length == 0 ? "is empty" : problem, reported, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Acme-Key")]
    [InlineData("acme key")]
    [InlineData("-acme")]
    public void AnInvalidCustomKind_IsAProblemNamingTheSetting(string kind)
    {
        var options = new StatePersistenceOptions();
        options.Redaction.Patterns[kind] = "ACME-[0-9]+";

        Assert.StartsWith($"Redaction:Patterns:{kind} is not a valid kind name:", Assert.Single(options.Validate()), StringComparison.Ordinal);
    }

    [Fact]
    public void SwitchedOff_NothingIsRedacted()
    {
        SecretRedactor redactor = SecretRedactor.Create(new RedactionOptions { Enabled = false }, null);
        const string Text = "password=hunter22 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";

        Assert.False(redactor.Enabled);
        Assert.Same(Text, redactor.Redact(Text, "message"));
    }

    /// <summary>Inputs that make a careless pattern backtrack exponentially or quadratically; each must simply finish.</summary>
    public static TheoryData<string, string> Pathological => new()
    {
        { "a long run of one letter", new string('a', 200_000) },
        { "an assignment prefix repeated", string.Concat(Enumerable.Repeat("password=", 30_000)) },
        { "a quoted JSON key with an endless escape run", "\"password\": \"" + new string('\\', 100_001) },
        { "a YAML key with a long unterminated value", "token: " + new string('x', 100_000) + " and more" },
        { "YAML keys run together", string.Concat(Enumerable.Repeat("token:", 50_000)) },
        { "JSON keys with unterminated values", string.Concat(Enumerable.Repeat("\"token\": \"abc ", 30_000)) },
        { "a connection string password without its ';'", string.Concat(Enumerable.Repeat("Password=abc ", 20_000)) },
        { "PEM headers without bodies", string.Concat(Enumerable.Repeat("-----BEGIN PRIVATE KEY-----", 10_000)) },
        { "JWT-like runs without the second dot", "eyJ" + new string('a', 100_000) + ".eyJ" + new string('b', 100_000) },
        { "a key prefix followed by hyphens", "sk-" + new string('-', 100_000) },
        { "Bearer with a long token without a digit", string.Concat(Enumerable.Repeat("Bearer " + new string('a', 50), 5_000)) },
        { "URL-like schemes without '@'", string.Concat(Enumerable.Repeat("https://user:pass", 10_000)) },
    };

    [Theory]
    [MemberData(nameof(Pathological))]
    public void PathologicalInputs_AreScannedWithoutTimingOut(string name, string text)
    {
        Assert.False(string.IsNullOrEmpty(name));

        // A timeout would throw: the assertion is that every built-in pattern finishes.
        string redacted = Redactor.Redact(text, "log");

        Assert.DoesNotContain("hunter", redacted, StringComparison.Ordinal);
    }

    [Fact]
    public void ACatastrophicCustomPattern_RunsOnTheNonBacktrackingEngine_AndFinishes()
    {
        var options = new RedactionOptions();
        options.Patterns["nested"] = "(a+)+$";
        SecretRedactor redactor = SecretRedactor.Create(options, null);
        string text = new string('a', 5_000) + "!";

        Assert.Equal(text, redactor.Redact(text, "log"));
    }

    [Fact]
    public void ACustomPatternThatTimesOut_RefusesTheText_NamingTheFieldAndThePattern_NotTheText()
    {
        var options = new RedactionOptions();
        // The backreference keeps it on the backtracking engine, where nested quantifiers before a failing match are
        // exponential in the length of the run.
        options.Patterns["nested"] = @"(?<x>a+)+\k<x>b";
        SecretRedactor redactor = SecretRedactor.Create(options, null);

        var refused = Assert.Throws<StateValidationException>(() => redactor.Redact(new string('a', 64) + "!", "message"));

        Assert.Equal("message", refused.Field);
        Assert.Contains("'nested'", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("aaaa", refused.Message, StringComparison.Ordinal);
    }
}
