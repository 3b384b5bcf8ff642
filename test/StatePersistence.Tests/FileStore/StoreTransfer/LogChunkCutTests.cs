using System.Text;
using StatePersistence.FileStore.Operations.StoreTransfer;

namespace StatePersistence.Tests.FileStore.StoreTransfer;

/// <summary>
/// Where an import or an export cuts a session log into appends: after its last line end, or, in a chunk with none, before a
/// character the chunk ends inside of, so every append is whole UTF-8 text.
/// </summary>
public sealed class LogChunkCutTests
{
    [Theory]
    [InlineData("one\ntwo\nthr", 8)]         // after the last line end
    [InlineData("abc", 3)]                   // whole characters, no line end
    [InlineData("aé", 3)]                    // é whole (2 bytes)
    [InlineData("a€", 4)]                    // € whole (3 bytes)
    [InlineData("a😀", 5)]                   // an emoji whole (4 bytes)
    public void AWholeChunk_IsCutAfterItsLastLineEnd_OrNotAtAll(string text, int expected) =>
        Assert.Equal(expected, TransferCopy.WholeLinesOrCharacters(Encoding.UTF8.GetBytes(text)));

    [Theory]
    [InlineData("aé", 2, 1)]                 // é's first byte only: cut before it
    [InlineData("a€", 2, 1)]                 // one byte of €
    [InlineData("a€", 3, 1)]                 // two bytes of €
    [InlineData("a😀", 4, 1)]                // three bytes of the emoji
    public void AChunkEndingInsideACharacter_IsCutBeforeIt(string text, int chunkLength, int expected) =>
        Assert.Equal(expected, TransferCopy.WholeLinesOrCharacters(Encoding.UTF8.GetBytes(text).AsSpan(0, chunkLength)));
}
