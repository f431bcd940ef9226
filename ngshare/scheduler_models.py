"""Compatibility alias: the scheduler's tables now live in :mod:`ngshare.scheduler.models`."""

from ngshare.scheduler.models import JOB_ID_LENGTH, JobRun, ScheduledJob, SchedulerBase

__all__ = ["JOB_ID_LENGTH", "JobRun", "ScheduledJob", "SchedulerBase"]
