namespace StatePersistence.CrashTests.Enumeration;

/// <summary>The oracle itself: it must flag every kind of loss and accept every state a crash may honestly leave.</summary>
public class WorkloadModelTests
{
    private static RecoveredContent Content(params (string Key, string Value)[] values) =>
        new(new SortedDictionary<string, string>(values.ToDictionary(v => v.Key, v => v.Value), StringComparer.Ordinal),
            new SortedDictionary<string, string?>(StringComparer.Ordinal));

    private static RecoveredContent WithLog(string sessionId, string? text)
    {
        RecoveredContent content = Content();
        content.Logs[sessionId] = text;
        return content;
    }

    private static WorkloadModel Acknowledged(params (string Key, string? Value)[] writes)
    {
        var model = new WorkloadModel();
        foreach ((string key, string? value) in writes)
        {
            model.Acknowledge(model.Set(key, value, "write " + key));
        }

        return model;
    }

    [Fact]
    public void AcknowledgedSave_MustBeThere()
    {
        WorkloadModel model = Acknowledged(("task/a", "v1"));

        Assert.Empty(model.Check(Content(("task/a", "v1"))));
        Assert.Contains(model.Check(Content()), p => p.Contains("task/a is missing", StringComparison.Ordinal));
    }

    [Fact]
    public void SaveInFlight_MayOrMayNotBeThere()
    {
        WorkloadModel model = Acknowledged(("task/a", "v1"));
        model.Set("task/a", "v2", "update a");

        Assert.Empty(model.Check(Content(("task/a", "v1"))));
        Assert.Empty(model.Check(Content(("task/a", "v2"))));
    }

    [Fact]
    public void OlderVersion_ThanAcknowledged_IsFlagged()
    {
        WorkloadModel model = Acknowledged(("task/a", "v1"), ("task/a", "v2"));

        Assert.Contains(model.Check(Content(("task/a", "v1"))), p => p.Contains("older version", StringComparison.Ordinal));
    }

    [Fact]
    public void AcknowledgedDelete_ThatComesBack_IsFlagged()
    {
        WorkloadModel model = Acknowledged(("task/a", "v1"), ("task/a", null));

        Assert.Contains(model.Check(Content(("task/a", "v1"))), p => p.Contains("came back", StringComparison.Ordinal));
    }

    [Fact]
    public void ContentNeverWritten_IsFlaggedAsPartial()
    {
        WorkloadModel model = Acknowledged(("task/a", "{\"id\":\"a\"}"));

        Assert.Contains(model.Check(Content(("task/a", "{\"id\":"))), p => p.Contains("never written", StringComparison.Ordinal));
        Assert.Contains(model.Check(Content(("task/a", "{\"id\":\"a\"}"), ("task/zz", "{}"))), p => p.Contains("task/zz", StringComparison.Ordinal));
    }

    [Fact]
    public void EmptyState_WhileAcknowledgedDataExists_IsFlagged()
    {
        WorkloadModel model = Acknowledged(("task/a", "v1"));

        Assert.Contains(model.Check(Content()), p => p.Contains("empty state", StringComparison.Ordinal));
    }

    [Fact]
    public void WholeStateReplacement_InFlight_MustLandAllOrNothing()
    {
        WorkloadModel model = Acknowledged(("task/a", "a1"), ("task/b", "b1"));
        model.Group("save whole state", [("task/a", "a2"), ("task/b", null)]);

        Assert.Empty(model.Check(Content(("task/a", "a1"), ("task/b", "b1"))));
        Assert.Empty(model.Check(Content(("task/a", "a2"))));
        Assert.Contains(model.Check(Content(("task/a", "a2"), ("task/b", "b1"))), p => p.Contains("landed in part", StringComparison.Ordinal));
    }

    [Fact]
    public void Log_KeepsAcknowledgedAppends_AndAtMostAPrefixOfTheOneInFlight()
    {
        var model = new WorkloadModel();
        model.Acknowledge(model.Append("s", "one\n"));
        model.Append("s", "two\n");

        Assert.Empty(model.Check(WithLog("s", "one\n")));
        Assert.Empty(model.Check(WithLog("s", "one\ntw")));
        Assert.Empty(model.Check(WithLog("s", "one\ntwo\n")));
        Assert.NotEmpty(model.Check(WithLog("s", "on")));
        Assert.NotEmpty(model.Check(WithLog("s", "one\n\0\0")));
        Assert.NotEmpty(model.Check(WithLog("s", null)));
    }

    [Fact]
    public void Log_UnacknowledgedAppendBeforeAnAcknowledgedOne_IsWholeOrAbsent()
    {
        var model = new WorkloadModel();
        model.Append("s", "lost?\n");
        model.Acknowledge(model.Append("s", "kept\n"));

        Assert.Empty(model.Check(WithLog("s", "kept\n")));
        Assert.Empty(model.Check(WithLog("s", "lost?\nkept\n")));
        Assert.NotEmpty(model.Check(WithLog("s", "lokept\n")));
    }

    [Fact]
    public void Log_AfterAnAcknowledgedSessionDeletion_HoldsOnlyWhatWasAppendedSince()
    {
        var model = new WorkloadModel();
        model.Acknowledge(model.Append("s", "old\n"));
        model.Acknowledge(model.DeleteSession("session/s", "s", "delete session s"));
        model.Acknowledge(model.Append("s", "new\n"));

        Assert.Empty(model.Check(WithLog("s", "new\n")));
        Assert.NotEmpty(model.Check(WithLog("s", "old\nnew\n")));
        Assert.NotEmpty(model.Check(WithLog("s", "old\n")));
    }

    [Fact]
    public void Log_OfASessionDeletionInFlight_IsWholeOrCutFromTheFront_NeverGapped()
    {
        var model = new WorkloadModel();
        model.Acknowledge(model.Append("s", "one\n"));
        model.Acknowledge(model.Append("s", "two\n"));
        model.Acknowledge(model.Append("s", "three\n"));
        model.DeleteSession("session/s", "s", "delete session s");

        Assert.Empty(model.Check(WithLog("s", "one\ntwo\nthree\n")));
        Assert.Empty(model.Check(WithLog("s", "two\nthree\n")));
        Assert.Empty(model.Check(WithLog("s", "three\n")));
        Assert.Empty(model.Check(WithLog("s", null)));
        Assert.NotEmpty(model.Check(WithLog("s", "one\nthree\n")));
        Assert.NotEmpty(model.Check(WithLog("s", "one\ntwo\n")));
        Assert.NotEmpty(model.Check(WithLog("s", "wo\nthree\n")));
    }

    [Fact]
    public void Observed_Value_BecomesAcknowledged()
    {
        WorkloadModel model = Acknowledged(("task/a", "v1"));
        model.Set("task/a", "v2", "update a");

        model.Observe(Content(("task/a", "v2")));

        Assert.NotEmpty(model.Check(Content(("task/a", "v1"))));
    }
}
