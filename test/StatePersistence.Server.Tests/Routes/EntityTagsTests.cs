using Microsoft.Extensions.Primitives;
using StatePersistence.Server.Http;

namespace StatePersistence.Server.Tests.Routes;

/// <summary>
/// <see cref="EntityTags"/>, the reading of <c>If-Match</c> and <c>If-None-Match</c> the writes and the reads share:
/// RFC 9110's grammar exactly (a comma inside quotes belongs to the tag; lists split on the commas outside them).
/// </summary>
public sealed class EntityTagsTests
{
    [Theory]
    [InlineData("\"12\"", new[] { "\"12\"" })]
    [InlineData("\"a,b\"", new[] { "\"a,b\"" })]
    [InlineData("W/\"a,b\"", new[] { "W/\"a,b\"" })]
    [InlineData("\",\"", new[] { "\",\"" })]
    [InlineData("\"\"", new[] { "\"\"" })]
    [InlineData("\"1\", \"a,b\", \"12\"", new[] { "\"1\"", "\"a,b\"", "\"12\"" })]
    [InlineData("\"1\",\"a,b\",W/\"12\"", new[] { "\"1\"", "\"a,b\"", "W/\"12\"" })]
    [InlineData(" , \"1\" ,, \t\"2\" , ", new[] { "\"1\"", "\"2\"" })]
    [InlineData("\"a\\\"", new[] { "\"a\\\"" })]
    [InlineData("\"!#~\u0080\u00ff\"", new[] { "\"!#~\u0080\u00ff\"" })]
    [InlineData(" * ", new[] { "*" })]
    public void AListOfEntityTags_IsSplitOnTheCommasOutsideQuotes(string value, string[] expected)
    {
        Assert.True(EntityTags.TryParse(new StringValues(value), out IReadOnlyList<string>? tags));
        Assert.Equal(expected, tags);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData(",")]
    [InlineData(" , ,")]
    [InlineData("\"abc")]
    [InlineData("\"a,b")]
    [InlineData("abc")]
    [InlineData("a,b")]
    [InlineData("7")]
    [InlineData("\"a\"b\"")]
    [InlineData("\"a\\\"b\"")]
    [InlineData("\"a b\"")]
    [InlineData("\"a\tb\"")]
    [InlineData("\"a\u007fb\"")]
    [InlineData("w/\"1\"")]
    [InlineData("W/ \"1\"")]
    [InlineData("W/")]
    [InlineData("\"1\" \"2\"")]
    [InlineData("\"1\"x")]
    [InlineData("*, \"1\"")]
    [InlineData("*,")]
    [InlineData("**")]
    public void AValueThatIsNoListOfEntityTags_DoesNotParse(string value)
    {
        Assert.False(EntityTags.TryParse(new StringValues(value), out _));
        Assert.False(EntityTags.IsTag(value.Trim()));
    }

    [Fact]
    public void SeveralFieldLines_AreOneList_AndStarStandsAlone()
    {
        Assert.True(EntityTags.TryParse(new StringValues(["\"a,b\"", "\"12\""]), out IReadOnlyList<string>? tags));
        Assert.Equal(["\"a,b\"", "\"12\""], tags);
        Assert.False(EntityTags.TryParse(new StringValues(["*", "\"12\""]), out _));
        Assert.False(EntityTags.TryParse(new StringValues(["\"12\"", "\"a"]), out _));
    }

    [Theory]
    [InlineData("\"a,b\"", true)]
    [InlineData("W/\"12\"", true)]
    [InlineData("\"1\", \"2\"", false)]
    [InlineData(" \"1\"", false)]
    [InlineData("*", false)]
    public void IsTag_TakesExactlyOneEntityTag(string value, bool expected) => Assert.Equal(expected, EntityTags.IsTag(value));
}
