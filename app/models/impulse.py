from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import NEVER_REUSE_IDS, Base, TypedJSON, UTCDateTime, utcnow
from app.schemas.impulses import DspBlock, ImpulseDesign, InputBlock, LearnBlock


class Impulse(Base):
    """The recipe from raw sample to model input: an input block, DSP blocks and learning blocks.

    `input`, `dsp` and `learn` are JSON columns read and written as the typed blocks of
    app/schemas/impulses.py (checked by app/services/impulses.py before they are saved);
    `revision` goes up by one on every change, so artifacts can say which version made them.
    """

    __tablename__ = "impulses"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    revision: Mapped[int] = mapped_column(default=1)
    input: Mapped[InputBlock] = mapped_column(TypedJSON(InputBlock))
    dsp: Mapped[list[DspBlock]] = mapped_column(TypedJSON(list[DspBlock]), default=list)
    learn: Mapped[list[LearnBlock]] = mapped_column(TypedJSON(list[LearnBlock]), default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def design(self) -> ImpulseDesign:
        return ImpulseDesign.model_construct(
            input=self.input, dsp=list(self.dsp), learn=list(self.learn)
        )

    @design.setter
    def design(self, design: ImpulseDesign) -> None:
        self.input, self.dsp, self.learn = design.input, list(design.dsp), list(design.learn)
