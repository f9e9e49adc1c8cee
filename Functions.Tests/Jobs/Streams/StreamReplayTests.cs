using Functions.Core.Jobs;
using Functions.Core.Jobs.Streams;
using Functions.Core.Requests;

namespace Functions.Tests.Jobs.Streams;

public sealed class StreamReplayTests
{
    private static readonly (string, StreamEntry)[] Log =
    [
        Row(new StreamEntry(0, ["Hel"])),
        Row(new StreamEntry(1, ["lo", " wor"])),
        Row(StreamEntry.Restart(3, 2)),
        Row(new StreamEntry(3, ["Good"])),
        Row(new StreamEntry(4, ["bye", "!"])),
    ];

    private static (string, StreamEntry) Row(StreamEntry entry) => (entry.RowKey, entry);

    private static Job Finished(string content) =>
        new("0198b8a1c3d47e2f9a0b1c2d3e4f5a6b", "alice", JobStatus.Succeeded,
            new ChatRequest([new ChatMessage("user", "hi")], "gpt-4.1-mini", null, null), DateTimeOffset.UnixEpoch, ModelCalls: 2,
            Result: new JobResult(content, "gpt-4.1-mini", "stop", new TokenUsage(1, 0, 1)));

    private static string Describe(IEnumerable<Core.Http.ServerSentEvent> events) =>
        string.Join(" | ", events.Select(e => e.Event switch
        {
            "delta" => $"{e.Id}:{System.Text.Json.JsonDocument.Parse(e.Data).RootElement.GetProperty("text").GetString()}",
            _ => e.Event!,
        }));

    [Fact]
    public void RowKeys_SortInLogOrder_WithAMarkerRightAfterTheDeltaBeforeIt()
    {
        var keys = Log.Select(row => row.Item1).ToList();

        Assert.Equal(keys.Order(StringComparer.Ordinal), keys);
        Assert.True(string.CompareOrdinal(StreamEntry.Restart(3, 2).RowKey, StreamEntry.KeyOf(3)) > 0);
        Assert.Equal((3L, true), StreamEntry.ParseKey(StreamEntry.Restart(3, 2).RowKey));
        Assert.Equal((6L, false), StreamEntry.ParseKey(Log[^1].Item1));
    }

    [Fact]
    public void FromTheStart_EveryDeltaWithItsId_TheRestart_ThenWhatTheResultAdds_ThenDone()
    {
        var replay = new StreamReplay(null);

        var events = replay.Follow(Log).Concat(replay.Finish(Finished("Goodbye! See you."), "{}")).ToList();

        Assert.Equal("1:Hel | 2:lo | 3: wor | restart | 4:Good | 5:bye | 6:! | 7: See you. | done", Describe(events));
        Assert.Equal(Log[^1].Item1, replay.LastRowKey);
    }

    [Theory]
    [InlineData(2L, "3: wor | restart | 4:Good | 5:bye | 6:! | done")]
    [InlineData(3L, "restart | 4:Good | 5:bye | 6:! | done")] // it may not have seen the marker: once more is harmless
    [InlineData(5L, "6:! | done")]
    [InlineData(6L, "done")]
    public void AfterLastEventId_OnlyWhatCameLater(long lastEventId, string expected)
    {
        var replay = new StreamReplay(lastEventId);

        var events = replay.Follow(Log).Concat(replay.Finish(Finished("Goodbye!"), "{}"));

        Assert.Equal(expected, Describe(events));
    }

    [Fact]
    public void FollowedInPieces_GivesTheSameEventsAsAllAtOnce()
    {
        var whole = new StreamReplay(1);
        var pieces = new StreamReplay(1);

        var expected = Describe(whole.Follow(Log).Concat(whole.Finish(Finished("Goodbye!"), "{}")));
        var actual = Describe(pieces.Follow(Log.Take(2)).Concat(pieces.Follow(Log.Skip(2))).Concat(pieces.Finish(Finished("Goodbye!"), "{}")));

        Assert.Equal(expected, actual);
    }

    [Fact]
    public void AnAnswerTheLogDoesNotStartWith_ComesWhole_BehindARestart()
    {
        // E.g. an attempt broke off, then the job was answered from the cache: the log's text is not the answer's start.
        var replay = new StreamReplay(null);

        var events = replay.Follow(Log.Take(2)).Concat(replay.Finish(Finished("Cached."), "{}"));

        Assert.Equal("1:Hel | 2:lo | 3: wor | restart | 4:Cached. | done", Describe(events));
    }

    [Fact]
    public void NoLogAtAll_TheAnswerInPieces_WithTheSameIdsEveryTime()
    {
        var answer = new string('a', 150);

        var first = Describe(new StreamReplay(null).Finish(Finished(answer), "{}"));
        var resumed = Describe(new StreamReplay(2).Finish(Finished(answer), "{}"));

        Assert.Equal($"1:{answer[..64]} | 2:{answer[64..128]} | 3:{answer[128..]} | done", first);
        Assert.Equal($"3:{answer[128..]} | done", resumed);
    }

    [Fact]
    public void AFailedJob_EndsWithFailed_CarryingItsView()
    {
        var failed = Finished("") with { Status = JobStatus.Failed, Result = null, Error = new JobError("x", "y") };

        var events = new StreamReplay(null).Finish(failed, "{\"status\":\"Failed\"}").ToList();

        var only = Assert.Single(events);
        Assert.Equal("failed", only.Event);
        Assert.Equal("{\"status\":\"Failed\"}", only.Data);
    }

    [Theory]
    [InlineData("12", 12L)]
    [InlineData("0", 0L)]
    [InlineData("", null)]
    [InlineData("-3", null)]
    [InlineData(" 4", null)]
    [InlineData("4.5", null)]
    [InlineData("seven", null)]
    [InlineData("99999999999999999999999", null)]
    [InlineData(null, null)]
    public void LastEventId_MalformedCountsAsNone(string? value, long? expected) =>
        Assert.Equal(expected, StreamReplay.ParseLastEventId(value));
}
