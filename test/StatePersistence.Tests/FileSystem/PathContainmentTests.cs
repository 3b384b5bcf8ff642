using StatePersistence.FileSystem;
using StatePersistence.Tests.Support;

namespace StatePersistence.Tests.FileSystem;

/// <summary>
/// Whether a path lies inside a directory as the file system resolves it: a symbolic link to the state directory (or
/// to a folder in it) does not make a path outside it, and a sibling sharing the name's prefix is not inside.
/// </summary>
public sealed class PathContainmentTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public PathContainmentTests() => Directory.CreateDirectory(State);

    private string State => _temp.Combine("state");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void ByName_InsideAndBeside()
    {
        Assert.True(PathContainment.IsInside(Path.Combine(State, "tasks", "new.json"), State));
        Assert.True(PathContainment.IsInside(State, State));
        Assert.False(PathContainment.IsInside(_temp.Combine("state2", "keys.json"), State));
        Assert.False(PathContainment.IsInside(_temp.Combine("keys.json"), State));
        Assert.False(PathContainment.IsInside(Path.Combine(State, "..", "keys.json"), State));
    }

    [Fact]
    public void ThroughALinkToTheDirectory_IsInside_WhateverSideTheLinkIsOn()
    {
        string link = _temp.Combine("elsewhere");
        Directory.CreateSymbolicLink(link, State);

        Assert.True(PathContainment.IsInside(Path.Combine(link, "keys.json"), State));
        Assert.True(PathContainment.IsInside(Path.Combine(State, "keys.json"), link));
        Assert.Equal(Path.Combine(State, "not", "yet.json"), PathContainment.Resolve(Path.Combine(link, "not", "yet.json")));
    }

    [Fact]
    public void ThroughARelativeLinkToAFolderInside_IsInside()
    {
        Directory.CreateDirectory(Path.Combine(State, "tasks"));
        string outside = _temp.Combine("outside");
        Directory.CreateDirectory(outside);
        string link = Path.Combine(outside, "t");
        Directory.CreateSymbolicLink(link, Path.Combine("..", "state", "tasks"));

        Assert.True(PathContainment.IsInside(Path.Combine(link, "x.tar.gz"), State));
    }

    [Fact]
    public void DotDotAfterALink_GoesToTheParentOfItsTarget()
    {
        // outside/up -> state/tasks, so outside/up/.. is state, not outside.
        Directory.CreateDirectory(Path.Combine(State, "tasks"));
        string outside = _temp.Combine("outside");
        Directory.CreateDirectory(outside);
        Directory.CreateSymbolicLink(Path.Combine(outside, "up"), Path.Combine(State, "tasks"));

        Assert.True(PathContainment.IsInside(Path.Combine(outside, "up", "..", "keys.json"), State));
        Assert.False(PathContainment.IsInside(Path.Combine(outside, "keys.json"), State));
    }

    [Fact]
    public void ALinkToAFileInside_IsInside()
    {
        File.WriteAllText(Path.Combine(State, "keys.json"), "{}");
        string link = _temp.Combine("keys.json");
        File.CreateSymbolicLink(link, Path.Combine(State, "keys.json"));

        Assert.True(PathContainment.IsInside(link, State));
    }

    [Fact]
    public void LinksInALoop_AreAnErrorNamingThePath()
    {
        string a = _temp.Combine("a");
        string b = _temp.Combine("b");
        Directory.CreateSymbolicLink(a, b);
        Directory.CreateSymbolicLink(b, a);

        IOException error = Assert.Throws<IOException>(() => PathContainment.Resolve(Path.Combine(a, "x")));

        Assert.Contains(Path.Combine(a, "x"), error.Message, StringComparison.Ordinal);
    }
}
