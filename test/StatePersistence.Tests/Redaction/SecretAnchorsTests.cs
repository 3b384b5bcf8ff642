using StatePersistence.Redaction;

namespace StatePersistence.Tests.Redaction;

/// <summary>
/// The anchors that let the redactor skip a pattern on a text must never skip a text the pattern matches: checked for
/// every built-in pattern on every text of the corpus, as written and with its case changed, and on a secret whose key
/// is spelled with a character the regular expressions fold to an ASCII letter.
/// </summary>
public sealed class SecretAnchorsTests
{
    private static readonly SecretRedactor Redactor = SecretRedactor.Create(new RedactionOptions(), null);

    public static TheoryData<string> Texts
    {
        get
        {
            IEnumerable<string> corpus = SecretCorpus.OneOfEachKind.Select(row => row.Data.Item2)
                .Concat(SecretCorpus.Documents.Select(row => row.Data.Item2))
                .Concat(SecretCorpus.LookAlikes.Select(row => row.Data));
            var texts = new TheoryData<string>();
            foreach (string text in corpus)
            {
                texts.Add(text);
                texts.Add(text.ToUpperInvariant());
                texts.Add(text.ToLowerInvariant());
            }

            return texts;
        }
    }

    [Theory]
    [MemberData(nameof(Texts))]
    public void NoPattern_IsRuledOutOfATextItMatches(string text)
    {
        bool ascii = SecretAnchors.IsAscii(text);
        foreach ((string kind, System.Text.RegularExpressions.Regex regex, SecretAnchors anchors) in BuiltInSecretPatterns.All)
        {
            if (regex.IsMatch(text))
            {
                Assert.False(anchors.RuleOut(text, ascii), $"The anchors of '{kind}' rule out a text it matches: {text}");
            }
        }
    }

    [Fact]
    public void AKeySpelledWithTheKelvinSign_IsStillRedacted()
    {
        // U+212A KELVIN SIGN: the regular expressions' invariant case rules take it for 'k'; an ordinal comparison
        // ignoring case does not, so a non-ASCII text is scanned by every pattern that ignores case.
        string text = "DefaultEndpointsProtocol=https;AccountName=a;Account\u212Aey=c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0;EndpointSuffix=x";

        Assert.Matches(BuiltInSecretPatterns.All.Single(p => p.Kind == "azure-storage-key").Regex, text);
        Assert.Contains("[REDACTED:azure-storage-key]", Redactor.Redact(text, "message"), StringComparison.Ordinal);
    }

    [Fact]
    public void ATextWithoutAnyAnchor_IsLeftAsItIs_AndTheSameInstance()
    {
        const string Plain = "Compiled 14 projects in 3.2 s; 0 warnings, all tests green.";

        Assert.Same(Plain, Redactor.Redact(Plain, "message"));
        Assert.All(BuiltInSecretPatterns.All, p => Assert.True(p.Anchors.RuleOut(Plain, ascii: true), p.Kind));
    }
}
