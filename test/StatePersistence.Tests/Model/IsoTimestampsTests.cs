using System.Globalization;
using System.Text;
using System.Text.Json;
using StatePersistence.Model;

namespace StatePersistence.Tests.Model;

public sealed class IsoTimestampsTests
{
    public static TheoryData<string> Written => new()
    {
        "2024-01-01T10:00:00Z",
        "2024-01-01T10:00:00.5Z",
        "2024-01-01T10:00:00.25Z",
        "2024-01-01T10:00:00.1234567Z",
        "2024-01-01T10:00:00.0000001Z",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59.9999999Z",
        "2024-02-29T12:00:00Z",
    };

    [Fact]
    public void Format_WritesWhatTheModelsCustomFormatWrites_ForAnyTimeAndOffset()
    {
        var random = new Random(20261202);
        Span<byte> buffer = stackalloc byte[IsoTimestamps.MaxLength];
        for (int i = 0; i < 20_000; i++)
        {
            long ticks = random.NextInt64(DateTime.MinValue.Ticks + TimeSpan.TicksPerDay, DateTime.MaxValue.Ticks - TimeSpan.TicksPerDay);
            // Whole seconds, whole milliseconds and trailing zeros are the cases the trimming must get right.
            ticks -= (i % 4) switch { 0 => ticks % TimeSpan.TicksPerSecond, 1 => ticks % TimeSpan.TicksPerMillisecond, 2 => ticks % 100, _ => 0 };
            var offset = TimeSpan.FromMinutes(random.Next(-14 * 60, 14 * 60 + 1));
            var value = new DateTimeOffset(new DateTime(ticks, DateTimeKind.Unspecified), offset);

            string expected = value.UtcDateTime.ToString(StateFormat.TimestampFormat, CultureInfo.InvariantCulture);
            Assert.Equal(expected, Encoding.UTF8.GetString(buffer[..IsoTimestamps.Format(value, buffer)]));
        }
    }

    [Theory]
    [MemberData(nameof(Written))]
    public void TryParse_ReadsWhatFormatWrites_AsTheSameInstantInUtc(string text)
    {
        Assert.True(IsoTimestamps.TryParse(Encoding.UTF8.GetBytes(text), out DateTimeOffset value));

        DateTimeOffset expected = DateTimeOffset.ParseExact(text, StateFormat.TimestampFormat, CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
        Assert.Equal(expected, value);
        Assert.Equal(TimeSpan.Zero, value.Offset);
        Span<byte> buffer = stackalloc byte[IsoTimestamps.MaxLength];
        Assert.Equal(text, Encoding.UTF8.GetString(buffer[..IsoTimestamps.Format(value, buffer)]));
    }

    [Theory]
    [InlineData("")]
    [InlineData("2024-01-01T10:00:00")] // no Z: the caller's own rule decides (UTC, or refused)
    [InlineData("2024-01-01T10:00Z")] // no seconds
    [InlineData("2024-01-01T10:00:00+01:00")]
    [InlineData("2024-01-01T10:00:00.Z")]
    [InlineData("2024-01-01T10:00:00.12345678Z")]
    [InlineData("2024-01-01t10:00:00Z")]
    [InlineData("2024-01-01 10:00:00Z")]
    [InlineData("2024-1-01T10:00:00Z")]
    [InlineData("2024-13-01T10:00:00Z")]
    [InlineData("2024-00-01T10:00:00Z")]
    [InlineData("2023-02-29T10:00:00Z")]
    [InlineData("2024-04-31T10:00:00Z")]
    [InlineData("0000-01-01T10:00:00Z")]
    [InlineData("2024-01-01T24:00:00Z")]
    [InlineData("2024-01-01T10:60:00Z")]
    [InlineData("2024-01-01T10:00:60Z")]
    [InlineData("2024-01-01T10:00:00.+1Z")]
    [InlineData("2024-01-01T10:00:00.1a3Z")]
    [InlineData("+024-01-01T10:00:00Z")]
    [InlineData("2024-01-01T10:00:00ZZ")]
    public void TryParse_RefusesEveryOtherForm(string text)
    {
        Assert.False(IsoTimestamps.TryParse(Encoding.UTF8.GetBytes(text), out _));
    }

    [Fact]
    public void TryRead_TakesOnlyAnUnescapedStringInTheWrittenForm_AndWriteWritesIt()
    {
        byte[] json = Encoding.UTF8.GetBytes("""["2024-01-01T10:00:00.25Z","2024-01-01T10:00:00\u002E25Z","2024-01-01T10:00:00+01:00",12]""");
        var reader = new Utf8JsonReader(json);
        reader.Read();
        var read = new List<bool>();
        DateTimeOffset first = default;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            bool taken = IsoTimestamps.TryRead(ref reader, out DateTimeOffset value);
            first = read.Count == 0 ? value : first;
            read.Add(taken);
        }

        // An escaped form and other offsets are left to the converter's own rule; a number is not a timestamp.
        Assert.Equal([true, false, false, false], read);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            IsoTimestamps.Write(writer, first);
        }

        Assert.Equal("\"2024-01-01T10:00:00.25Z\"", Encoding.UTF8.GetString(buffer.ToArray()));
    }

    [Fact]
    public void Format_RefusesABufferTooSmall()
    {
        byte[] small = new byte[IsoTimestamps.MaxLength - 1];
        Assert.Throws<ArgumentException>(() => IsoTimestamps.Format(DateTimeOffset.UnixEpoch, small));
    }
}
