using System.Text.RegularExpressions;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Server.Tests.EndToEnd;

/// <summary>
/// The README's contents list, the operator's way into a long document: every section (<c>##</c> and <c>###</c>,
/// outside code blocks) is listed, in order, and each link leads to its heading as GitHub anchors it, so a section
/// added, renamed or moved without the list fails here rather than leaving a dead link.
/// </summary>
public sealed partial class ReadmeContentsTests
{
    [Fact]
    public void TheContents_ListEverySection_InOrder_AndEachLinkFindsItsHeading()
    {
        string[] lines = File.ReadAllLines(RepositoryFiles.Find("README.md"));
        int contents = Array.IndexOf(lines, "## Contents");
        Assert.True(contents > 0, "README.md has no '## Contents' section");

        List<(string Title, string Anchor)> listed = [.. lines.Skip(contents + 1).TakeWhile(l => !l.StartsWith("## ", StringComparison.Ordinal))
            .Select(l => ContentsEntry().Match(l)).Where(m => m.Success).Select(m => (m.Groups[1].Value, m.Groups[2].Value))];

        Assert.Equal(Sections(lines), listed);
    }

    /// <summary>Every section after the contents list, with the anchor GitHub gives it (a repeated one numbered).</summary>
    private static List<(string Title, string Anchor)> Sections(string[] lines)
    {
        var sections = new List<(string, string)>();
        var anchors = new Dictionary<string, int>(StringComparer.Ordinal);
        bool inCode = false;
        foreach (string line in lines)
        {
            if (line.StartsWith("```", StringComparison.Ordinal))
            {
                inCode = !inCode;
                continue;
            }

            if (inCode || Heading().Match(line) is not { Success: true } heading)
            {
                continue;
            }

            string title = heading.Groups[1].Value;
            string slug = Unanchored().Replace(title.ToLowerInvariant(), "").Replace(' ', '-');
            int seen = anchors.GetValueOrDefault(slug);
            anchors[slug] = seen + 1;
            if (title is not ("Contents" or "The two commands"))
            {
                sections.Add((title, seen == 0 ? slug : $"{slug}-{seen}"));
            }
        }

        return sections;
    }

    [GeneratedRegex(@"^#{2,3} (.+)$")]
    private static partial Regex Heading();

    [GeneratedRegex(@"^ *- \[(.+)\]\(#([^)]+)\)$")]
    private static partial Regex ContentsEntry();

    // What GitHub drops from a heading's text to make its anchor: anything but letters, digits, '_', '-' and spaces.
    [GeneratedRegex(@"[^\w\- ]")]
    private static partial Regex Unanchored();
}
